"""Convergence diagnostics per fit (diagnostics.csv).

A fit passes when r_hat <= max_r_hat, bulk and tail ESS >= min_ess for every quantity, its
model family had at most max_divergences divergent transitions, and each MCMC probability is
within max_exact_gap_mcse Monte Carlo SEs of the exact one (`exact_check`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from bayes_btc.decisions.rules import EndpointRules, Rule, probability
from bayes_btc.inference.exact_check import probability_mcse
from bayes_btc.inference.mcmc_stats import mcse_mean
from bayes_btc.inputs.plan import Thresholds
from bayes_btc.models.fit import Fit
from bayes_btc.threads import threaded_map

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


def divergences(tree: xr.DataTree) -> int:
    """Divergent transitions after tuning, summed over the chains of one model family."""
    stats = tree["sample_stats"].to_dataset()
    name = "diverging" if "diverging" in stats else "divergences"
    return int(np.asarray(stats[name].values).sum())


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
            f"probability from the draws {row['exact_gap_mcse']:.1f} MCSE from exact "
            f"(> {t.max_exact_gap_mcse:g})"
        )
    return out


def monte_carlo_errors(f: Fit, rule: Rule) -> tuple[float, tuple[float, float]]:
    """(largest MCSE of a mean over the fit's finite quantities (each pooled set a run of its
    own), (P(rule), its MCSE) from the draws, or NaNs for conjugate fits, whose exact check
    has them)."""
    finite = [np.asarray(d.values, dtype=float) for d in f.draws.values()]
    finite = [x for x in finite if np.isfinite(x).all()]
    blocks = int(f.inputs["n_sets"]) if f.pooled else 1  # sets pooled: one run each
    mcse = float(mcse_mean(np.stack(finite), blocks).max())
    if f.exact is not None:
        return mcse, (float("nan"), float("nan"))
    return mcse, probability_mcse(f, rule, probability(f, rule))


def diagnostics_table(
    fits: list[Fit],
    summary: pd.DataFrame,
    exact: pd.DataFrame,
    family_divergences: dict[str, int],
    rules: dict[str, EndpointRules],
    thresholds: Thresholds,
) -> pd.DataFrame:
    """The contract's diagnostics.csv: one row per fit, worst value over its quantities."""
    rows = []
    by_fit = summary.groupby(["endpoint", "model", "prior"], sort=False)
    ex = exact.set_index(["endpoint", "model", "prior", "estimand"]).sort_index()
    # the Monte Carlo errors of each fit on its own thread (numpy, FFT and the ESS kernel
    # release the GIL): the same numbers for any number of threads
    errors = threaded_map(lambda f: monte_carlo_errors(f, rules[f.endpoint].ni), fits)
    for f, (mcse, p_draws) in zip(fits, errors, strict=True):
        s = by_fit.get_group(f.key)
        rule = rules[f.endpoint].ni
        if f.exact is not None:
            ni = ex.loc[(*f.key, rule.estimand)]
            p, p_exact, p_mcse = ni["probability_mcmc"], ni["probability_exact"], ni["mcse"]
            gap = float(ex.loc[f.key]["gap_mcse"].max())
        else:
            p, p_mcse = p_draws
            p_exact, gap = float("nan"), float("nan")
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
        problems = fit_problems(row, thresholds)
        row["passed"] = not problems
        row["problems"] = "; ".join(problems)
        rows.append(row)
    return pd.DataFrame(rows, columns=DIAG_COLUMNS)
