"""MCMC against the exact posterior: the Monte Carlo SE of a posterior probability, and the
check of every conjugate cell's MCMC probability against its model's closed form.

The MCSE of a probability is sqrt(p(1 - p) / ESS) with p the exact (or reference) value, kept
at least 1/N from 0 and 1 so that a probability of ~0 or ~1 does not demand a zero gap, and
ESS that of the 0/1 indicator.
"""

from __future__ import annotations

import math

import arviz as az
import pandas as pd
import xarray as xr

from bayes_btc.decisions.rules import EndpointRules, Rule, indicator
from bayes_btc.models.fit import Fit

EXACT_COLUMNS = [
    "endpoint",
    "model",
    "prior",
    "estimand",
    "margin",
    "direction",
    "probability_mcmc",
    "probability_exact",
    "mcse",
    "gap_mcse",
    "within_tolerance",
]


def probability_mcse(fit: Fit, rule: Rule, p_ref: float) -> tuple[float, float]:
    """(MCMC probability, its Monte Carlo SE about the reference p_ref)."""
    ind = indicator(fit, rule)
    n = ind.size
    ess = float(az.ess(xr.DataArray(ind.astype(float), dims=("chain", "draw"))))
    if not math.isfinite(ess) or ess <= 0:  # constant indicator: fall back on the draw count
        ess = float(n)
    p_tilde = min(max(p_ref, 1 / n), 1 - 1 / n)
    return float(ind.mean()), math.sqrt(p_tilde * (1 - p_tilde) / ess)


def exact_check(
    fits: list[Fit], rules: dict[str, EndpointRules], max_gap_mcse: float
) -> pd.DataFrame:
    """MCMC against exact probabilities for the plan's NI rule and 'treatment better', for
    the conjugate fits (the others have no exact reference and no rows here)."""
    rows = []
    for f in fits:
        if f.exact is None:
            continue
        r = rules[f.endpoint]
        for rule in (r.ni, r.better):
            exact = f.exact(f, rule)
            p, se = probability_mcse(f, rule, exact)
            gap = abs(p - exact) / se
            rows.append(
                {
                    "endpoint": f.endpoint,
                    "model": f.model,
                    "prior": f.prior,
                    "estimand": rule.estimand,
                    "margin": rule.margin,
                    "direction": rule.text,
                    "probability_mcmc": p,
                    "probability_exact": exact,
                    "mcse": se,
                    "gap_mcse": gap,
                    "within_tolerance": bool(gap <= max_gap_mcse),
                }
            )
    return pd.DataFrame(rows, columns=EXACT_COLUMNS)
