"""The figures drawn from result tables alone, as `FigureSpec`s: the P(NI) summary (the
answer at a glance), P(NI) by margin per endpoint and the forest plots. They take an
`Analysis` or a saved results folder, so a saved folder can redraw them without refitting."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bayes_btc.analysis.result import FigureSpec
from bayes_btc.decisions.rules import CURVE, NI

Tables = Any  # an `Analysis` or a saved results folder: study, plan, endpoints, kinds, rules,
# summary, noninferiority and decisions tables


def all_priors(r: Tables) -> list[str]:
    """Every prior of the run, in first-seen order: one colour and marker per prior across
    the table-drawn figures."""
    return list(dict.fromkeys(r.noninferiority["prior"]))


def decision_probabilities(decisions: pd.DataFrame) -> pd.Series:
    """The probability each decision uses: exact where the model is conjugate, else MCMC."""
    exact = decisions["probability_exact"]
    return exact.where(exact.notna(), decisions["probability_mcmc"])


def summary_spec(r: Tables) -> FigureSpec:
    """P(NI) at the plan margin for every endpoint x model (rows) and prior (markers),
    against the decision threshold: the report's answer at a glance."""
    d = r.decisions[r.decisions["estimand"] == NI]
    d = d.assign(probability=decision_probabilities(d))
    treatment, control = r.study.arms
    return FigureSpec(
        "summary",
        "summary_ni",
        f"At a glance: P({treatment} non-inferior to {control}) at the plan's margins, "
        "per endpoint, model and prior",
        {
            "table": d[["endpoint", "model", "prior", "probability"]].reset_index(drop=True),
            "endpoints": list(r.endpoints),
            "threshold": r.plan.decision_threshold,
            "title": f"P({treatment} non-inferior to {control}) at the plan's margin",
            "priors": all_priors(r),
        },
    )


def table_figure_specs(r: Tables) -> list[FigureSpec]:
    """The figures drawn from result tables alone (summary, P(NI) by margin, forest plots),
    so a saved results folder can redraw them; `r` is an `Analysis` or a saved folder."""
    treatment, control = r.study.arms
    xlabel = {
        "survival": f"HR margin ({treatment} vs {control})",
        "efficacy": f"rate difference margin ({treatment} - {control})",
        "harm": f"rate difference margin ({treatment} - {control})",
    }
    threshold = r.plan.decision_threshold
    out = [summary_spec(r)]
    priors = all_priors(r)
    curves = r.noninferiority[r.noninferiority["estimand"] == CURVE]
    for e in r.endpoints:
        if not (curves["endpoint"] == e).any():  # no fit of this endpoint (no prior applies)
            continue
        out.append(
            FigureSpec(
                "ni_curve",
                f"ni_curve_{e}",
                f"{e}: P(non-inferior) by margin",
                {
                    "ni": curves[curves["endpoint"] == e],
                    "endpoint": e,
                    "margin": r.rules[e].ni.margin,
                    "threshold": threshold,
                    "xlabel": xlabel[r.kinds[e]],
                    "priors": priors,
                },
            )
        )
    fitted = set(r.summary["endpoint"])  # endpoints no prior applied to have no rows
    surv = {
        e: r.rules[e].ni.margin for e in r.endpoints if r.kinds[e] == "survival" and e in fitted
    }
    if surv:
        out.append(
            _forest(r, "hr", 1.0, surv, f"hazard ratio {treatment} vs {control} (log scale)")
        )
    rates = {
        e: r.rules[e].ni.margin for e in r.endpoints if r.kinds[e] != "survival" and e in fitted
    }
    if rates:
        out.append(_forest(r, "rate_diff", 0.0, rates, f"rate difference {treatment} - {control}"))
    return out


def _forest(
    a: Tables, quantity: str, ref: float, margins: dict[str, float], xlabel: str
) -> FigureSpec:
    caption = "Hazard ratios" if quantity == "hr" else "Rate differences"
    data = {
        "summary": a.summary,
        "quantity": quantity,
        "ref": ref,
        "margins": margins,
        "xlabel": xlabel,
        "log": quantity == "hr",
        "priors": all_priors(a),
    }
    return FigureSpec("forest", f"forest_{quantity}", caption, data)
