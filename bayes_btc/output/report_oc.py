"""The report's operating characteristics (from oc_exact.csv): a short section after the
evidence (what the numbers are, their range across endpoints), and in the appendix one plain
sentence per endpoint (type I error and P(declare) at no difference under the first-named
prior, the type I error under the others) and the full table. Arm names, margins and the
threshold are the data's and the plan's."""

from __future__ import annotations

import math

import pandas as pd

from bayes_btc.output.blocks import Block
from bayes_btc.output.numbers import fmt, probabilities
from bayes_btc.output.saved import SavedResults

OC_HEADING = "How often the decision rule errs: operating characteristics"
OC_APPENDIX = "Operating characteristics: exact type I error and power"
OC_COMMAND = "bayes-btc oc"
OC_PLAN_SECTION = "[operating_characteristics]"


def _p(x: float) -> str:
    return fmt(float(x), probability=True)


def _no_difference_words(claim: str) -> str:
    """What P(declare) at no difference is: the power of a non-inferiority claim, an error of
    a superiority claim (no difference is not superiority)."""
    return "power" if claim == "non-inferior" else f"P(wrongly {claim})"


def _others(rows: pd.DataFrame) -> str:
    """'; type I error x (p2), y (p3)' for the priors after the first."""
    rest = rows.iloc[1:]
    if not len(rest):
        return ""
    return "; type I error " + ", ".join(
        f"{_p(r.type1_error)} ({r.prior})" for r in rest.itertuples()
    )


def survival_sentence(r: SavedResults, e: str, rows: pd.DataFrame) -> str:
    """One endpoint's summary-level log-HR OCs in words."""
    first = rows.iloc[0]
    return (
        f"{e} ({first.model}): type I error {_p(first.type1_error)} at a true HR of "
        f"{first.margin:g}, {_no_difference_words(first.claim)} "
        f"{_p(first.p_declare_no_difference)} at HR 1, under the {first.prior} prior (declared "
        f"when the estimated HR is at most {first.critical_hr:.3g}){_others(rows)}."
    )


def binary_sentence(r: SavedResults, e: str, rows: pd.DataFrame) -> str:
    """One binary endpoint's exact OCs in words (control rate: the observed one)."""
    first = rows.iloc[0]
    treatment, control = r.study.arms
    side = "below" if first.margin < 0 else "above"
    error = (
        f"type I error {_p(first.type1_error)}"
        if not math.isnan(first.type1_error)
        else "type I error undefined (outside 0-1)"
    )
    return (
        f"{e} ({first.model}): {error} if {treatment}'s true rate is {abs(first.margin):g} "
        f"{side} {control}'s {first.control_rate:.3g}, {_no_difference_words(first.claim)} "
        f"{_p(first.p_declare_no_difference)} if equal, under the {first.prior} prior"
        f"{_others(rows)}."
    )


def oc_sentences(r: SavedResults) -> list[str]:
    """One sentence per endpoint with exact OCs, in the report's endpoint order."""
    d = r.oc_exact
    out = []
    for e in r.endpoints:
        rows = d[d["endpoint"] == e]
        if len(rows):
            words = survival_sentence if r.kinds[e] == "survival" else binary_sentence
            out.append(words(r, e, rows))
    return out


def pwe_words(r: SavedResults) -> str:
    """Where the simulated OCs are: those of the PWE models the run has, or the grids."""
    where = f"the command {OC_COMMAND} computes them (plan section {OC_PLAN_SECTION})"
    pwe = sorted({m for m in r.summary["model"].astype(str) if m.startswith("pwe")})
    if not pwe:
        return f" OCs over grids of true effects and control rates: {where}."
    models = ", ".join(pwe)
    return (
        f" The OCs of the piecewise-exponential models ({models}) need simulated trials: {where}."
    )


def oc_intro(r: SavedResults) -> str:
    t = r.plan.decision_threshold
    return (
        f"How often the plan's rule (declare when P >= {t:g}) would declare its claim on this "
        "trial's design if the truth sat at the margin (type I error; a one-sided frequentist "
        f"test at that level allows {1 - t:.3g}) or at no difference (power). Exact, for this "
        "run's priors (historical ones included): binary endpoints by enumerating every outcome "
        "of both arms (the control arm's true rate taken as observed), the summary-level "
        "log-HR model in normal closed form." + pwe_words(r)
    )


def _extreme(d: pd.DataFrame, column: str, pick: str) -> str:
    """The smallest ('idxmin') or largest ('idxmax') value of a column, with its endpoint."""
    if not d[column].notna().any():
        return _p(math.nan)
    row = d.loc[getattr(d[column], pick)()]
    return f"{_p(row[column])} ({row['endpoint']})"


def oc_summary(r: SavedResults) -> str:
    """The range of the OCs under each endpoint's first-named prior, and the largest type I
    error under any prior, with where each sits."""
    d = r.oc_exact.reset_index(drop=True)
    first = d.groupby(["endpoint", "model"], sort=False).head(1)
    power = "power" if (first["claim"] == "non-inferior").all() else "P(declare) at no difference"
    summary = (
        f"Under the first-named prior the type I error runs from "
        f"{_extreme(first, 'type1_error', 'idxmin')} to {_extreme(first, 'type1_error', 'idxmax')} "
        f"and the {power} from {_extreme(first, 'p_declare_no_difference', 'idxmin')} to "
        f"{_extreme(first, 'p_declare_no_difference', 'idxmax')}"
    )
    worst = d.loc[d["type1_error"].idxmax()] if d["type1_error"].notna().any() else None
    if worst is not None and worst["type1_error"] > first["type1_error"].max():
        summary += (
            f"; the largest under any prior is {_p(worst['type1_error'])} ({worst['endpoint']}, "
            f"{worst['model']}, {worst['prior']} prior)"
        )
    return summary + ". Each endpoint in words, and every prior, in the appendix."


def oc_blocks(r: SavedResults) -> list[Block]:
    """The main-part section: what the numbers are, and their range across endpoints."""
    if not len(r.oc_exact):
        return []
    return [Block("h2", OC_HEADING), Block("p", oc_intro(r) + " " + oc_summary(r))]


def oc_table(r: SavedResults) -> pd.DataFrame:
    """The appendix table: one row per endpoint x model x prior (oc_exact.csv)."""
    d = r.oc_exact
    control = r.study.control
    design = [
        f"SE {row.se_log_hr:.3g} (log-HR)"
        if not pd.isna(row.se_log_hr)
        else f"{row.n_treatment:.0f} vs {row.n_control:.0f}, {control} rate {row.control_rate:.3g}"
        for row in d.itertuples()
    ]
    out = pd.DataFrame(
        {
            "endpoint": d["endpoint"],
            "model": d["model"],
            "prior": d["prior"],
            "margin": d["margin"],
            "design": design,
            "type I error": d["type1_error"],
            "P(declare), no difference": d["p_declare_no_difference"],
            "method": d["method"],
        }
    )
    return probabilities(out, ["type I error", "P(declare), no difference"])


def oc_appendix(r: SavedResults) -> list[Block]:
    """The collapsible appendix section with every row of oc_exact.csv."""
    if not len(r.oc_exact):
        return []
    treatment, control = r.study.arms
    content = [
        Block(
            "p",
            f"P(declare) at the decision threshold {r.plan.decision_threshold:g} with the trial's "
            "arm sizes (binary) or the published SE (summary log-HR model), when the true effect "
            f"({treatment} vs {control}) is the plan's margin (type I error) or no difference "
            f"(HR 1, rate difference 0). oc_exact.csv; the grids of true effects and control "
            f"rates, and the simulated PWE models, are in the oc.csv of {OC_COMMAND}.",
        ),
        Block("list", oc_sentences(r)),
        Block("table", oc_table(r)),
    ]
    return [Block("details", content, OC_APPENDIX)]
