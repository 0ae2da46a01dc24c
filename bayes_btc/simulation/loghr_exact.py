"""Exact operating characteristics of the summary-level log-HR model (normal closed form).

The trial's estimate is y ~ Normal(true log-HR, se^2), se implied by the published CI (as the
summary log-HR model itself uses it). With a normal-mixture prior the posterior P(HR < margin)
is decreasing in y, so the decision "P(HR < margin) >= threshold" is y <= c, with c solved
once (in closed form for a single normal prior, by root finding for a mixture), and
    P(declare | true log-HR theta) = Phi((c - theta) / se).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from bayes_btc.priors.mixtures import NormalMixture


def critical_estimate(prior: NormalMixture, se: float, margin_hr: float, threshold: float) -> float:
    """The largest log-HR estimate y (log-HR scale) at which P(HR < margin | y) >= threshold."""
    bound, z = math.log(margin_hr), float(stats.norm.ppf(threshold))
    if prior.n_components == 1:
        m0, s0 = prior.means[0], prior.sds[0]
        prec = 1 / se**2 + 1 / s0**2
        # posterior mean (y / se^2 + m0 / s0^2) / prec, sd prec^-1/2: mean + z sd = bound
        return float(((bound - z / math.sqrt(prec)) * prec - m0 / s0**2) * se**2)

    def gap(y: float) -> float:
        return float(prior.posterior(y, se).cdf(bound)) - threshold

    lo, hi = bound - 50 * se, bound + 50 * se
    if gap(lo) < 0:
        return -math.inf  # never declared
    if gap(hi) >= 0:
        return math.inf  # always declared
    return float(optimize.brentq(gap, lo, hi, xtol=1e-12))


def p_declare_hr(
    prior: NormalMixture, se: float, margin_hr: float, threshold: float, true_hr: np.ndarray
) -> np.ndarray:
    """P(declare NI) for true HRs (array), exactly."""
    c = critical_estimate(prior, se, margin_hr, threshold)
    return stats.norm.cdf((c - np.log(np.asarray(true_hr, dtype=float))) / se)
