"""`Fit`: one fitted cell (endpoint x model x prior), the typed result every model returns.

Each model module splits its batched posterior into `Fit`s holding draws under the contract's
quantity names (`hr`, `log_hr`, `rate_<arm>`, `rate_diff`, ...), each a (chain, draw)
DataArray, and says whether the cell has an exact (conjugate) posterior by setting `exact`.
Everything downstream works on these, never on model internals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import xarray as xr

from bayes_btc.priors.mixtures import BetaMixture, NormalMixture


class Comparison(Protocol):
    """What an exact reference needs of a decision rule: P(quantity `direction` margin)."""

    quantity: str
    direction: str
    margin: float


EXACT_DRAWS = "exact draws"  # `Fit.draws_from` of independent draws from an exact posterior
ExactProbability = Callable[["Fit", Comparison], float]


@dataclass(frozen=True)
class Fit:
    """One endpoint x model x prior cell: its draws and where they came from.

    `dataset` numbers a reconstructed data set (None for a fit to the data themselves, or a
    fit pooled over sets); `exact` computes the exact posterior probability of a rule for
    conjugate cells and is None for the others."""

    endpoint: str
    model: str
    prior: str
    family: str  # the compiled model family the cell belongs to
    draws: dict[str, xr.DataArray] = field(repr=False)  # quantity -> (chain, draw)
    inputs: dict[str, float] = field(repr=False)  # data and prior parameters of this cell
    priors: dict[str, BetaMixture | NormalMixture] = field(default_factory=dict, repr=False)
    # the cell's priors: "log_hr", or "rate_<arm>" per arm (conjugate fits)
    dataset: int | None = None
    exact: ExactProbability | None = field(default=None, repr=False, compare=False)
    draws_from: str = "MCMC"  # how the draws were made: "MCMC", or EXACT_DRAWS (conjugate)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.endpoint, self.model, self.prior

    @property
    def pooled(self) -> bool:
        """Draws pooled over reconstructed data sets (diagnostics come per set)."""
        return "n_sets" in self.inputs


NORMAL_PRIOR_KEYS = frozenset({"prior_mean", "prior_sd", "y", "se"})
BETA_PRIOR_KEYS = frozenset({"prior_a", "prior_b", "events_0", "n_0", "events_1", "n_1"})


def has_simple_prior(f: Fit) -> bool:
    """One normal prior, or one Beta shared by both arms (conjugate cells whose prior,
    likelihood and posterior can be drawn as single curves)."""
    return f.inputs.keys() >= NORMAL_PRIOR_KEYS or f.inputs.keys() >= BETA_PRIOR_KEYS
