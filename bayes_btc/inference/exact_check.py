"""MCMC against the exact posterior: the Monte Carlo SE of a posterior probability, and the
check of every conjugate cell's MCMC probability against its model's closed form.

The MCSE of a probability is sqrt(p(1 - p) / ESS) with p the exact (or reference) value, kept
at least 1/N from 0 and 1 so that a probability of ~0 or ~1 does not demand a zero gap, and
ESS that of the 0/1 indicator (split chains, as ArviZ's mean ESS).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_btc.decisions.rules import EndpointRules, Rule, indicator
from bayes_btc.inference.mcmc_stats import indicator_mcse
from bayes_btc.models.fit import EXACT_DRAWS, Fit

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


def rules_mcse(fit: Fit, rules: list[Rule], p_ref: list[float] | None = None) -> np.ndarray:
    """Monte Carlo SE of each rule's probability, all rules at once.

    A fit pooled over S reconstructed sets (equal blocks of draws, `pooling.pool`) has the
    MCSE of a mean of S independent estimates, sqrt(sum_s MCSE_s^2) / S, each MCSE_s from
    that set's own chains; `p_ref` (a reference value per rule) applies to unpooled fits.
    Exact (independent) draws have the binomial MCSE sqrt(p(1 - p) / N)."""
    ind = np.stack([indicator(fit, r) for r in rules])  # (rule, chain, draw), 0/1
    return indicators_mcse(fit, ind, p_ref)


def rules_probability_mcse(fit: Fit, rules: list[Rule]) -> tuple[np.ndarray, np.ndarray]:
    """(probability from the draws, its Monte Carlo SE) of each rule, from one stack of
    indicators (the probabilities equal `rules.probability`)."""
    ind = np.stack([indicator(fit, r) for r in rules])
    return ind.mean(axis=(1, 2)), indicators_mcse(fit, ind)


def indicators_mcse(fit: Fit, ind: np.ndarray, p_ref: list[float] | None = None) -> np.ndarray:
    """`rules_mcse` from the rules' 0/1 draws, shape (rule, chain, draw)."""
    if fit.draws_from == EXACT_DRAWS:  # independent draws: ESS is the number of draws
        n = ind[0].size
        p = ind.mean(axis=(1, 2)) if p_ref is None else np.asarray(p_ref, dtype=float)
        p = np.clip(p, 1 / n, 1 - 1 / n)
        return np.sqrt(p * (1 - p) / n)
    if not fit.pooled:
        ref = None if p_ref is None else np.asarray(p_ref, dtype=float)
        return indicator_mcse(ind, ref)
    n_sets = int(fit.inputs["n_sets"])
    se = indicator_mcse(ind, blocks=n_sets).reshape(len(ind), n_sets)  # (rule, set)
    return np.sqrt((se**2).sum(axis=1)) / n_sets


def probability_mcse(fit: Fit, rule: Rule, p_ref: float) -> tuple[float, float]:
    """(probability from the draws, its Monte Carlo SE about the reference p_ref)."""
    p = float(indicator(fit, rule).mean())
    return p, float(rules_mcse(fit, [rule], [p_ref])[0])


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
