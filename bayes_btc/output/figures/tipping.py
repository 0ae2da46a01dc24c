"""Tipping-point heat map: P(NI) over the prior grid of one endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import patheffects, ticker

from bayes_btc.decisions.tipping import (
    AXIS_BACK,
    AXIS_FORWARD,
    axes_kind,
    contour_lines,
    grid_arrays,
    standard_grid,
)
from bayes_btc.decisions.tipping_words import format_probability, quantity_label
from bayes_btc.output.figures.layout import save
from bayes_btc.output.figures.style import log_hr_axis, log_sd_axis

_OUTLINE = [patheffects.withStroke(linewidth=3.2, foreground="black")]


def _edges(v: np.ndarray, kind: str) -> np.ndarray:
    """Cell edges around grid values: midpoints in the axis coordinates of `kind`."""
    w = AXIS_FORWARD[kind](np.asarray(v, dtype=float))
    if len(w) == 1:
        e = np.array([w[0] - 0.1, w[0] + 0.1])
    else:
        mid = 0.5 * (w[1:] + w[:-1])
        e = np.concatenate([[2 * w[0] - mid[0]], mid, [2 * w[-1] - mid[-1]]])
    return AXIS_BACK[kind](e)


def heatmap(
    table: pd.DataFrame,
    endpoint: str,
    threshold: float,
    flip: dict[str, Any],
    path: Path,
) -> Path:
    """P(NI) over the prior grid of one endpoint, with the threshold contour drawn and
    labelled, the published estimate marked and the weakest prior that reverses the
    vague-prior conclusion (`flip`, from `weakest_flip`) starred. Log-HR: prior mean HR
    (log x) by prior SD of the log-HR (log y); control rate: prior mean control rate by
    pseudo-count (symmetric-log y, from 0). Returns `path`."""
    d, info = standard_grid(table, endpoint)
    log = info["scale"] == "log_hr"
    kx, ky = axes_kind(info)
    t, c = info["arms"]
    x, y, z = grid_arrays(d)
    ex, ey = _edges(x, kx), _edges(y, ky)
    fig, ax = plt.subplots(figsize=(7.2, 5.8), dpi=110, layout="constrained")
    mesh = ax.pcolormesh(ex, ey, z, cmap="viridis", vmin=0, vmax=1, shading="flat")
    fig.colorbar(mesh, ax=ax, label=f"posterior {quantity_label(info)}")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    else:
        ax.set_yscale("symlog", linthresh=1.0, linscale=0.5)
    lines = contour_lines(x, y, z, threshold, info)
    for i, seg in enumerate(lines):
        label = None if i else f"P = {threshold:g} (decision threshold)"
        ax.plot(seg[:, 0], seg[:, 1], color="white", lw=1.8, label=label, path_effects=_OUTLINE)
    if lines:
        seg = max(lines, key=len)
        px, py = seg[len(seg) // 2]
        ax.annotate(
            f"P = {threshold:g}",
            (px, py),
            xytext=(4, 4),
            textcoords="offset points",
            color="white",
            fontsize=8,
            fontweight="bold",
            path_effects=[patheffects.withStroke(linewidth=1.6, foreground="black")],
        )
    if log:
        ax.axvline(info["estimate"], color="orange", ls="--", lw=1.2)
        ax.axvline(info["margin"], color="firebrick", ls=":", lw=1.2)
        ax.axhline(info["se"], color="0.85", ls="-.", lw=1.0)
        marks = [
            ("orange", "--", f"published HR {info['estimate']:.2f}"),
            ("firebrick", ":", f"NI margin HR {info['margin']:g}"),
            ("0.85", "-.", f"prior SD = the trial's SE ({info['se']:.2f})"),
        ]
        ax.set(
            xlabel=f"prior mean (centre) of the hazard ratio, {t} vs {c} (log scale)",
            ylabel="prior SD of the log hazard ratio (log scale)",
        )
    else:
        k0, n0 = info["events"][1], info["n"][1]
        ax.axvline(k0 / n0, color="orange", ls="--", lw=1.2)
        ax.axhline(n0, color="0.85", ls="-.", lw=1.0)
        marks = [
            ("orange", "--", f"published {c} rate {k0}/{n0} = {k0 / n0:.2f}"),
            ("0.85", "-.", f"pseudo-count = {c} arm size ({n0} patients)"),
        ]
        ax.set(
            xlabel=f"prior mean of the {c} rate (proportion of patients)",
            ylabel=f"prior pseudo-count on the {c} rate (patients, symlog scale)",
        )
    for colour, ls, label in marks:
        ax.plot([], [], color=colour, ls=ls, label=label)
    if flip["found"]:
        ax.plot(
            flip["prior_location"],
            flip["prior_strength"],
            "*",
            color="red",
            ms=12,
            mec="white",
            label=f"weakest prior that {flip['change']}",
        )
    ax.set_xlim(ex[0], ex[-1])
    ax.set_ylim(ey[0], ey[-1])
    if log:
        log_hr_axis(ax.xaxis)
        log_sd_axis(ax.yaxis)
    else:
        ticks = [v for v in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if v <= ey[-1]]
        ax.yaxis.set_major_locator(ticker.FixedLocator(ticks))
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_locator(ticker.NullLocator())  # the 1-2-5 labels suffice
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    ref = "flat prior" if log else "plan's rate prior on both arms"
    ax.set_title(
        f"{endpoint}: tipping point - posterior {quantity_label(info)} by prior\n"
        f"{ref}: {format_probability(flip['reference_probability'], threshold)}; "
        f"threshold {threshold:g}",
        fontsize=9.5,
    )
    save(fig, path)
    return Path(path)
