"""The answer at a glance: P(NI) at the plan's margin per endpoint x model (rows) and prior
(markers), against the decision threshold."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from bayes_btc.output.figures.layout import save

MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*"]


def ni_summary(
    table: pd.DataFrame,
    endpoints: list[str],
    threshold: float,
    title: str,
    path: Path,
    priors: list[str] | None = None,
) -> Path:
    """One row per endpoint x model, one marker per prior; filled where P(NI) reaches the
    threshold. Rows of one endpoint are grouped between light rules."""
    rows = table[["endpoint", "model"]].drop_duplicates()
    rows = rows.assign(order=rows["endpoint"].map({e: i for i, e in enumerate(endpoints)}))
    rows = rows.sort_values("order", kind="stable").reset_index(drop=True)
    several = rows.groupby("endpoint")["model"].transform("size") > 1
    labels = [
        f"{r.endpoint} · {r.model}" if s else str(r.endpoint)
        for r, s in zip(rows.itertuples(), several, strict=True)
    ]
    y = {(r.endpoint, r.model): len(rows) - 1 - i for i, r in enumerate(rows.itertuples())}
    order = priors or list(dict.fromkeys(table["prior"]))  # colour and marker per prior
    priors = [p for p in order if p in set(table["prior"])]
    handles: list[Line2D] = []
    fig, ax = plt.subplots(figsize=(8.6, 0.36 * len(rows) + 1.5), dpi=110, layout="constrained")
    for j, prior in enumerate(priors):
        g = table[table["prior"] == prior]
        yy = np.array([y[(e, m)] for e, m in zip(g["endpoint"], g["model"], strict=True)])
        offset = (j - (len(priors) - 1) / 2) * 0.11
        shown = g["probability"].to_numpy() >= threshold
        k = order.index(prior)
        colour = f"C{k % 10}"
        marker = MARKERS[k % len(MARKERS)]
        ax.scatter(
            g["probability"][shown], yy[shown] + offset, marker=marker, s=46, color=colour,
            zorder=3,
        )  # fmt: skip
        ax.scatter(
            g["probability"][~shown], yy[~shown] + offset, marker=marker, s=46,
            facecolors="white", edgecolors=colour, zorder=3,
        )  # fmt: skip
        handles.append(
            Line2D([], [], ls="", marker=marker, color=colour, mfc="white", ms=7, label=prior)
        )
    ax.axvline(threshold, color="firebrick", lw=1.1)
    handles += [
        Line2D([], [], ls="", marker="o", color="0.2", ms=7, label="filled: reaches threshold"),
        Line2D([], [], color="firebrick", lw=1.1, label=f"threshold {threshold:g}"),
    ]
    ax.axvspan(threshold, 1.0, color="firebrick", alpha=0.07, lw=0)
    ends = rows.groupby("endpoint", sort=False).size().cumsum().to_numpy()[:-1]
    for k in ends:
        ax.axhline(len(rows) - k - 0.5, color="0.85", lw=0.8)
    ax.set_yticks(list(range(len(rows)))[::-1], labels, fontsize=9)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(0, 1.0)
    ax.set_xticks(np.linspace(0, 1, 11))
    ax.grid(axis="x", color="0.92", lw=0.6)
    ax.set_xlabel("posterior probability of non-inferiority at the plan's margin")
    ax.set_title(title, fontsize=10.5)
    ax.legend(
        handles=handles, title="prior", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5,
        title_fontsize=8.5, frameon=False,
    )  # fmt: skip
    return save(fig, path)
