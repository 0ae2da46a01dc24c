"""Writes an operating-characteristics folder from an `OCResult`: oc.csv,
oc_design_prior.csv, the OC curves in figures/ and oc.md. Computes nothing itself."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bayes_btc.analysis.oc import OCResult
from bayes_btc.output.figures.oc_curves import oc_curve
from bayes_btc.tables import write_csv

INVERTED = (
    "`loghr_summary_inverted` (the summary model's inverted reading, fitted where the audit "
    "doubts the printed HR direction): the same rule applied to the printed estimate read "
    "the other way (treatment vs control = 1 / printed HR), with the same SE, so as a function "
    "of the true HR under that reading its rows equal the as-printed rows (no figure of its "
    "own). If the printed direction is in fact right, the inverted reading declares NI with the "
    "probability shown at true effect 1 / HR."
)


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_oc(r: OCResult, folder: Path, prov: dict) -> None:
    """Write oc.csv, oc_design_prior.csv, figures/oc_*.png, oc.md and provenance.json."""
    write_csv(r.table, folder / "oc.csv")
    write_csv(r.design, folder / "oc_design_prior.csv")
    if r.calibration is not None:
        write_csv(r.calibration, folder / "reconstruction_calibration.csv")
    figs = folder / "figures"
    figs.mkdir()
    index = []
    for (e, model), g in r.table.groupby(["endpoint", "model"], sort=False):
        if str(model).endswith("_inverted"):  # the as-printed curve (same design): not redrawn
            continue
        control = g["control_value"].iloc[0]
        rows = g[g["control_value"] == control]
        if str(model).startswith("pwe"):
            rows = rows[~rows["scenario"].str.contains("late_hr")]
        name = f"oc_{e}_{model}.png"
        oc_curve(rows, r.margins[e], f"{e}, {model} (control {control:.3g})", figs / name)
        index.append(
            {
                "file": name,
                "caption": f"P(declare NI) against the true effect: {e}, "
                f"{model}, control {control:.3g}; margin and 0.025 marked.",
            }
        )
    (figs / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    (folder / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
    (folder / "oc.md").write_text(oc_markdown(r, index))


def oc_markdown(r: OCResult, figures: list[dict]) -> str:
    """The OC section: type I error at the margin and power at no difference, Bayesian OCs."""
    t = r.table
    at_margin = t[
        [abs(e - r.margins[d]) < 1e-9 for d, e in zip(t["endpoint"], t["effect"], strict=True)]
    ]
    nodiff = t[
        [
            abs(e - (1.0 if m != "beta_binomial" else 0.0)) < 1e-9
            for m, e in zip(t["model"], t["effect"], strict=True)
        ]
    ]
    cols = ["endpoint", "model", "prior", "scenario", "method", "p_declare", "mcse"]
    parts = [
        "# Operating characteristics",
        "",
        f"Decision rule: declare non-inferiority when P(NI) >= {r.threshold:g}. Binary endpoints "
        "and the summary-level log-HR model are exact (all outcomes enumerated; normal closed "
        "form); the PWE PH and non-PH models are simulated (Monte Carlo SE in `mcse`).",
        "",
        "## Type I error (true effect at the margin)",
        "",
        _md_table(at_margin[cols]),
        "",
        "## Power (no true difference)",
        "",
        _md_table(nodiff[cols]),
        "",
        "## Bayesian operating characteristics under the design prior",
        "",
        _md_table(r.design),
        "",
        *(f"- {n}" for n in r.notes),
        *(f"- {INVERTED}" for _ in [1] if t["model"].str.endswith("_inverted").any()),
        "",
        *_calibration_md(r),
        "## Figures",
        "",
        *(f"![{f['caption']}](figures/{f['file']})" for f in figures),
        "",
    ]
    return "\n".join(parts)


def _calibration_md(r: OCResult) -> list[str]:
    if r.calibration is None:
        return []
    return [
        "## Reconstruction calibration",
        "",
        "Each simulated trial also printed as an abstract would (arm sizes, KM medians, Cox HR "
        "and 95% CI), reconstructed from those numbers alone and fitted with the same PWE PH "
        "model; P(NI) from the reconstruction and from the summary log-HR model, minus P(NI) "
        "from the trial's real (simulated) patients:",
        "",
        _md_table(r.calibration),
        "",
    ]
