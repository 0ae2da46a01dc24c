"""Convergence diagnostics per fit and the check of MCMC against the exact posterior.

A fit passes when r_hat <= max_r_hat, bulk and tail ESS >= min_ess for every quantity, its
model family had at most max_divergences divergent transitions, and each MCMC probability is
within max_exact_gap_mcse Monte Carlo SEs of the exact one. The MCSE of a probability is
sqrt(p(1 - p) / ESS) with p the exact value (kept at least 1/N from 0 and 1, so that a
probability of ~0 or ~1 does not demand a zero gap) and ESS that of the 0/1 indicator.
"""

from __future__ import annotations

import math

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from bayes_btc.decisions import Kind, Rule, better_rule, indicator, ni_rule, probability
from bayes_btc.exact import exact_probability
from bayes_btc.plan import Plan, Thresholds
from bayes_btc.posterior import Fit

DIAG_COLUMNS = [
    "endpoint",
    "model",
    "prior",
    "r_hat",
    "ess_bulk",
    "ess_tail",
    "mcse_mean",
    "divergences",
    "p_ni_mcmc",
    "p_ni_exact",
    "p_ni_mcse",
    "exact_gap_mcse",
    "passed",
    "problems",
]
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


def divergences(tree: xr.DataTree) -> int:
    """Divergent transitions after tuning, summed over the chains of one model family."""
    stats = tree["sample_stats"].to_dataset()
    name = "diverging" if "diverging" in stats else "divergences"
    return int(np.asarray(stats[name].values).sum())


def probability_mcse(fit: Fit, rule: Rule, p_ref: float) -> tuple[float, float]:
    """(MCMC probability, its Monte Carlo SE about the reference p_ref)."""
    ind = indicator(fit, rule)
    n = ind.size
    ess = float(az.ess(xr.DataArray(ind.astype(float), dims=("chain", "draw"))))
    if not math.isfinite(ess) or ess <= 0:  # constant indicator: fall back on the draw count
        ess = float(n)
    p_tilde = min(max(p_ref, 1 / n), 1 - 1 / n)
    return float(ind.mean()), math.sqrt(p_tilde * (1 - p_tilde) / ess)


def exact_check(fits: list[Fit], kinds: dict[str, Kind], plan: Plan) -> pd.DataFrame:
    """MCMC against exact probabilities for the plan's NI rule and 'treatment better', for
    the conjugate fits (the others have no exact reference and no rows here)."""
    rows = []
    for f in fits:
        if not has_exact(f):
            continue
        kind = kinds[f.endpoint]
        for rule in (ni_rule(kind, plan), better_rule(kind)):
            exact = exact_probability(f, rule)
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
                    "within_tolerance": bool(gap <= plan.diagnostics.max_exact_gap_mcse),
                }
            )
    return pd.DataFrame(rows, columns=EXACT_COLUMNS)


def has_exact(fit: Fit) -> bool:
    """Conjugate models have an exact posterior to check the sampler against."""
    return fit.model.startswith("loghr_summary") or fit.model == "beta_binomial"


def fit_problems(row: dict, t: Thresholds) -> list[str]:
    """Which thresholds a fit's diagnostics break, in words."""
    out = []
    if not row["r_hat"] <= t.max_r_hat:
        out.append(f"r_hat {row['r_hat']:.3f} > {t.max_r_hat}")
    for k in ("ess_bulk", "ess_tail"):
        if not row[k] >= t.min_ess:
            out.append(f"{k} {row[k]:.0f} < {t.min_ess:g}")
    if row["divergences"] > t.max_divergences:
        out.append(f"{row['divergences']} divergences > {t.max_divergences}")
    if math.isfinite(row["exact_gap_mcse"]) and row["exact_gap_mcse"] > t.max_exact_gap_mcse:
        out.append(
            f"MCMC probability {row['exact_gap_mcse']:.1f} MCSE from exact "
            f"(> {t.max_exact_gap_mcse:g})"
        )
    return out


def diagnostics_table(
    fits: list[Fit],
    summary: pd.DataFrame,
    exact: pd.DataFrame,
    family_divergences: dict[str, int],
    plan: Plan,
    kinds: dict[str, Kind],
) -> pd.DataFrame:
    """The contract's diagnostics.csv: one row per fit, worst value over its quantities."""
    rows = []
    by_fit = summary.groupby(["endpoint", "model", "prior"], sort=False)
    ex = exact.set_index(["endpoint", "model", "prior", "estimand"]).sort_index()
    for f in fits:
        s = by_fit.get_group(f.key)
        rule = ni_rule(kinds[f.endpoint], plan)
        if has_exact(f):
            ni = ex.loc[(*f.key, rule.estimand)]
            p, p_exact, p_mcse = ni["probability_mcmc"], ni["probability_exact"], ni["mcse"]
            gap = float(ex.loc[f.key]["gap_mcse"].max())
        else:
            p, p_mcse = probability_mcse(f, rule, probability(f, rule))
            p_exact, gap = float("nan"), float("nan")
        finite = [d for d in f.draws.values() if np.isfinite(d.values).all()]
        mcse = max(float(az.mcse(d)) for d in finite)
        row = {
            "endpoint": f.endpoint,
            "model": f.model,
            "prior": f.prior,
            "r_hat": float(s["r_hat"].max()),
            "ess_bulk": float(s["ess_bulk"].min()),
            "ess_tail": float(s["ess_tail"].min()),
            "mcse_mean": mcse,
            "divergences": family_divergences.get(f.family, 0),
            "p_ni_mcmc": float(p),
            "p_ni_exact": float(p_exact),
            "p_ni_mcse": float(p_mcse),
            "exact_gap_mcse": gap,
        }
        problems = fit_problems(row, plan.diagnostics)
        row["passed"] = not problems
        row["problems"] = "; ".join(problems)
        rows.append(row)
    return pd.DataFrame(rows, columns=DIAG_COLUMNS)
