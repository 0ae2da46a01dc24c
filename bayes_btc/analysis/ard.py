"""Analysis Results Data (ARD) in the {cards} layout: one row per statistic.

Columns `group1, group1_level, variable, variable_level, context, stat_name, stat_label, stat,
fmt_fun, warning, error`. `variable` is the endpoint, `variable_level` the quantity (`hr`,
`rate_diff`, `rmst_diff`, or a per-arm quantity's stem `rate`, `median`, `s6`, `rmst` with
`group1 = "arm"` and the arm in `group1_level`; contrasts have `group1 = "comparison"` and
`"<treatment> vs <control>"`), `context` is `<model>:<prior>`. Statistics: posterior mean, SD,
2.5/50/97.5% quantiles, r_hat, bulk and tail ESS from summary.csv; P(NI) at the plan's margin,
P(treatment better) and the margin from noninferiority.csv; their exact values from
exact_check.csv where the model is conjugate. `fmt_fun` is the number of decimals to show;
`warning` holds the fit's failed diagnostics. Mapping documented in docs/ard.md.
"""

from __future__ import annotations

import pandas as pd

from bayes_btc.analysis.result import Analysis
from bayes_btc.decisions.rules import BETTER, BETTER_RMST, NI, NI_RMST

ARD_COLUMNS = [
    "group1",
    "group1_level",
    "variable",
    "variable_level",
    "context",
    "stat_name",
    "stat_label",
    "stat",
    "fmt_fun",
    "warning",
    "error",
]
# summary.csv column -> (stat_name, stat_label, decimals)
SUMMARY_STATS = {
    "mean": ("mean", "Posterior mean", 3),
    "sd": ("sd", "Posterior SD", 3),
    "q2.5": ("p2.5", "Posterior 2.5% quantile", 3),
    "q50": ("p50", "Posterior median", 3),
    "q97.5": ("p97.5", "Posterior 97.5% quantile", 3),
    "r_hat": ("r_hat", "R-hat", 3),
    "ess_bulk": ("ess_bulk", "Bulk effective sample size", 0),
    "ess_tail": ("ess_tail", "Tail effective sample size", 0),
}
# estimand -> (stat_name, label stem)
PROBABILITIES = {
    NI: ("p_noninferiority", "P(non-inferior)"),
    NI_RMST: ("p_noninferiority", "P(non-inferior)"),
    BETTER: ("p_better", "P(treatment better)"),
    BETTER_RMST: ("p_better", "P(treatment better)"),
}


def split_quantity(quantity: str, arms: tuple[str, str]) -> tuple[str, str, str]:
    """(group1, group1_level, variable_level): 'rate_TP' -> ('arm', 'TP', 'rate');
    'hr' -> ('comparison', 'TP vs GP', 'hr')."""
    for arm in arms:
        if quantity.endswith(f"_{arm}"):
            return "arm", arm, quantity.removesuffix(f"_{arm}")
    return "comparison", f"{arms[0]} vs {arms[1]}", quantity


def ard_table(a: Analysis) -> pd.DataFrame:
    """The run's ARD: every statistic of summary.csv, and P(NI), P(better) and the margin (with
    exact values where they exist) at the plan's margins."""
    problems = {
        (r.endpoint, r.model, r.prior): r.problems
        for r in a.diagnostics.itertuples()
        if not r.passed
    }
    rows = []
    for r in a.summary.to_dict("records"):
        group, level, var_level = split_quantity(r["quantity"], a.study.arms)
        base = {
            "group1": group,
            "group1_level": level,
            "variable": r["endpoint"],
            "variable_level": var_level,
            "context": f"{r['model']}:{r['prior']}",
            "warning": problems.get((r["endpoint"], r["model"], r["prior"]), ""),
            "error": "",
        }
        for column, (name, label, digits) in SUMMARY_STATS.items():
            rows.append(
                base
                | {"stat_name": name, "stat_label": label, "stat": r[column]}
                | {"fmt_fun": digits}
            )
    exact = {
        (r["endpoint"], r["model"], r["prior"], r["estimand"]): r["probability_exact"]
        for r in a.exact.to_dict("records")
    }
    ni = a.noninferiority[a.noninferiority["estimand"].isin(list(PROBABILITIES))]
    comparison = f"{a.study.arms[0]} vs {a.study.arms[1]}"
    for r in ni.to_dict("records"):
        rule = a.rules[r["endpoint"]]
        quantity = "rmst_diff" if r["estimand"] in (NI_RMST, BETTER_RMST) else rule.ni.quantity
        direction = rule.rmst[0].direction if quantity == "rmst_diff" else rule.ni.direction
        name, stem = PROBABILITIES[r["estimand"]]
        event = f"{quantity} {direction} {r['margin']:g}"
        base = {
            "group1": "comparison",
            "group1_level": comparison,
            "variable": r["endpoint"],
            "variable_level": quantity,
            "context": f"{r['model']}:{r['prior']}",
            "warning": problems.get((r["endpoint"], r["model"], r["prior"]), ""),
            "error": "",
        }
        stats = [(name, f"{stem}: P({event})", r["probability"], 4)]
        key = (r["endpoint"], r["model"], r["prior"], r["estimand"])
        if key in exact:
            stats.append((f"{name}_exact", f"{stem}, exact: P({event})", exact[key], 4))
        if r["estimand"] in (NI, NI_RMST):
            stats.append(("margin", f"Non-inferiority margin on {quantity}", r["margin"], 3))
        rows += [
            base | {"stat_name": n, "stat_label": lab, "stat": float(v), "fmt_fun": d}
            for n, lab, v, d in stats
        ]
    out = pd.DataFrame(rows, columns=ARD_COLUMNS)
    out["stat"] = out["stat"].astype(float)
    out["fmt_fun"] = out["fmt_fun"].astype(int)
    return out
