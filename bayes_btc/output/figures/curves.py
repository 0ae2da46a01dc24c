"""P(NI) against the margin, and forest plots of posterior medians and 95% intervals."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayes_btc.decisions.rules import CURVE
from bayes_btc.output.figures.style import PRIOR_STYLES


def ni_curves(
    ni: pd.DataFrame, endpoint: str, margin: float, threshold: float, xlabel: str, path: Path
) -> Path:
    """P(non-inferior) against the margin, one line per model x prior."""
    d = ni[(ni["endpoint"] == endpoint) & (ni["estimand"] == CURVE)]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110, layout="constrained")
    for i, ((model, prior), g) in enumerate(d.groupby(["model", "prior"], sort=False)):
        ax.plot(
            g["margin"],
            g["probability"],
            PRIOR_STYLES[i % len(PRIOR_STYLES)],
            label=f"{model}, {prior}",
            color=f"C{i}",
        )
    ax.axhline(threshold, color="0.3", lw=0.8)
    ax.text(ax.get_xlim()[0], threshold, f" threshold {threshold:g}", va="bottom", fontsize=8)
    ax.axvline(margin, color="firebrick", lw=0.8, ls="--")
    ax.text(margin, 0.02, f" plan margin {margin:g}", color="firebrick", fontsize=8)
    ax.set(
        xlabel=xlabel,
        ylabel="posterior P(non-inferior)",
        ylim=(0, 1.02),
        title=f"{endpoint}: probability of non-inferiority by margin",
    )
    ax.legend(fontsize=7, loc="best")
    fig.savefig(path)
    plt.close(fig)
    return path


def forest(
    summary: pd.DataFrame,
    quantity: str,
    ref: float,
    margins: dict[str, float],
    xlabel: str,
    path: Path,
    log: bool = False,
) -> Path:
    """Posterior median and 95% interval of `quantity` for every endpoint x model x prior."""
    d = summary[summary["quantity"] == quantity].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.0, 0.32 * len(d) + 1.4), dpi=110, layout="constrained")
    y = np.arange(len(d))[::-1]
    ax.hlines(y, d["q2.5"], d["q97.5"], color="0.25")
    ax.plot(d["q50"], y, "o", color="C0", ms=4)
    ax.axvline(ref, color="0.5", lw=0.8)
    for i, (endpoint, m) in enumerate(margins.items()):
        rows = y[d["endpoint"].to_numpy() == endpoint]
        if len(rows):
            ax.vlines(
                m,
                rows.min() - 0.4,
                rows.max() + 0.4,
                color="firebrick",
                ls="--",
                lw=0.9,
                label="NI margin" if i == 0 else None,
            )
    ax.set_yticks(y, [f"{r.endpoint} | {r.model} | {r.prior}" for r in d.itertuples()], fontsize=7)
    if log:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, title=f"Posterior medians and 95% intervals: {quantity}")
    ax.legend(fontsize=7, loc="lower right")
    fig.savefig(path)
    plt.close(fig)
    return path
