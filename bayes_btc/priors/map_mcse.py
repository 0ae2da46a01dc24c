"""Monte Carlo error of a MAP prior's effective sample size.

The mixture approximating the MAP predictive draws, and so its ESS, moves with the draws. The
draws (chain-major, each chain in draw order) are cut into B = `BATCHES` contiguous batches
and the mixture is refitted without each batch in turn, by EM started from the fit to all
draws (same number of components; one set of refits serves every prior derived from the
mixture, e.g. the MAP prior and its robust version): the delete-a-batch jackknife,
MCSE^2 = (B - 1)/B * sum_b (ESS_(-b) - mean)^2 (batches much longer than the
autocorrelation are nearly independent). Refits on 7/8 of the draws keep the ESS's
small-sample bias out of the error, which refits on single batches (SD / sqrt(B))
overstate. The estimate is still conservative: for draws from a known normal mixture it is
about twice the spread of the ESS over independent draw sets (tests/test_map_mcse.py).
The refits run side by side (`bayes_btc/threads.py`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from bayes_btc.priors.mixture_fit import fit_beta_mixture, fit_normal_mixture
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture
from bayes_btc.threads import threaded_map

BATCHES = 8
UNIT_SD_LOG_MEDIAN = 1.0  # SD of one event's information on the log-median scale

Mixture = BetaMixture | NormalMixture


def prior_ess(mix: Mixture, scale: str) -> float:
    """ESS of a prior: ELIR in patients for a rate (moment ESS where ELIR diverges, a Beta
    shape below 1), ELIR in events for a log median (unit SD `UNIT_SD_LOG_MEDIAN`)."""
    if scale != "rate":
        return mix.ess(UNIT_SD_LOG_MEDIAN)  # type: ignore[call-arg]
    try:
        return mix.ess()
    except ValueError:
        return mix.ess("moment")


def ess_mcse(
    draws: np.ndarray,
    fitted: Mixture,
    scale: str,
    derived: Callable[[Mixture], Mixture] = lambda m: m,
    batches: int = BATCHES,
) -> float:
    """MCSE of `prior_ess(derived(fitted))`, `fitted` being the mixture fitted to all `draws`
    (e.g. `derived` = robustification, for the robust prior's ESS)."""
    return ess_mcse_each(draws, fitted, scale, {"": derived}, batches)[""]


def ess_mcse_each(
    draws: np.ndarray,
    fitted: Mixture,
    scale: str,
    derived: Mapping[str, Callable[[Mixture], Mixture]],
    batches: int = BATCHES,
) -> dict[str, float]:
    """MCSE of `prior_ess(d(fitted))` for each named `d` in `derived` (e.g. the MAP prior
    itself and its robust version), from one set of `batches` jackknife refits."""
    x = np.asarray(draws, dtype=float).ravel()
    if len(x) < 50 * batches:
        return dict.fromkeys(derived, float("nan"))
    refit = fit_beta_mixture if scale == "rate" else fit_normal_mixture
    parts = np.array_split(x, batches)

    def without(b: int) -> Mixture:
        return refit(np.concatenate(parts[:b] + parts[b + 1 :]), start=fitted)  # type: ignore[arg-type]

    fits = threaded_map(without, range(batches))  # independent refits, side by side
    out = {}
    for name, d in derived.items():
        ess = np.array([prior_ess(d(f), scale) for f in fits])
        out[name] = float(np.sqrt((batches - 1) / batches * np.sum((ess - ess.mean()) ** 2)))
    return out
