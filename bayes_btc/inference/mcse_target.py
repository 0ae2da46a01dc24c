"""The plan's Monte Carlo error target for P(NI): is it met, and how many draws would meet it.

MCMC families report the MCSE of every decision probability (ESS-based, `exact_check`). When
the worst one exceeds `sampler.mcse_target`, a second run is sized from the first: the MCSE
falls as 1/sqrt(draws), so draws x (worst / target)^2, with 10% to spare. Whatever still
misses the target after that is said plainly in the decision's statement.
"""

from __future__ import annotations

import math

import pandas as pd

from bayes_btc.decisions.rules import EndpointRules
from bayes_btc.inference.exact_check import rules_mcse
from bayes_btc.models.fit import Fit

MAX_FACTOR = 16  # a second run draws at most 16 times as many


def worst_mcse(fits: list[Fit], rules: dict[str, EndpointRules]) -> float:
    """The largest MCSE of the decision probabilities (plan margins) over `fits`."""
    out = [float(rules_mcse(f, rules[f.endpoint].primary(f)).max()) for f in fits]
    return max(out, default=0.0)


def draws_for_target(draws: int, worst: float, target: float) -> int | None:
    """Draws per chain that bring `worst` (observed with `draws`) to `target`; None if met."""
    if not worst > target:
        return None
    factor = min(1.1 * (worst / target) ** 2, MAX_FACTOR)
    return math.ceil(draws * factor)


def flag_missed(decisions: pd.DataFrame, target: float) -> pd.DataFrame:
    """Say in the statement where a decision probability's MCSE exceeds the plan's target."""
    out = decisions.copy()
    missed = out["mcse"] > target
    out.loc[missed, "statement"] += out.loc[missed, "mcse"].map(
        lambda se: f" Its Monte Carlo SE ({se:.4f}) exceeds the plan's target ({target:g})."
    )
    return out
