"""P(NI) against the margin (one panel per model, one line per prior, legend outside), and
forest plots of posterior medians and 95% intervals (one panel per endpoint)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from bayes_btc.decisions.rules import CURVE
from bayes_btc.output.figures.layout import save
from bayes_btc.output.figures.style import PRIOR_STYLES, log_hr_axis


def legend_entries(axes: object) -> tuple[list, list[str]]:
    """Legend handles and labels of several panels, each label once, in first-seen order."""
    seen: dict[str, object] = {}
    for ax in axes:  # type: ignore[attr-defined]
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, h)
    return list(seen.values()), list(seen)


def ni_curves(
    ni: pd.DataFrame,
    endpoint: str,
    margin: float,
    threshold: float,
    xlabel: str,
    path: Path,
    priors: list[str] | None = None,
) -> Path:
    """P(non-inferior) against the margin: one panel per model, one line per prior (same
    colour and style for a prior in every panel), one legend beside the panels."""
    d = ni[(ni["endpoint"] == endpoint) & (ni["estimand"] == CURVE)]
    models = list(dict.fromkeys(d["model"]))
    order = priors or list(dict.fromkeys(d["prior"]))  # colour and style per prior
    priors = [p for p in order if p in set(d["prior"])]
    ncol = min(2, len(models))
    nrow = math.ceil(len(models) / ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(4.0 * ncol + 2.2, 3.0 * nrow + 0.6), dpi=110,
        sharex=True, sharey=True, squeeze=False, layout="constrained",
    )  # fmt: skip
    for ax, model in zip(axes.flat, models, strict=False):
        g = d[d["model"] == model]
        for prior in priors:
            p, k = g[g["prior"] == prior], order.index(prior)
            if len(p):
                ax.plot(
                    p["margin"], p["probability"], PRIOR_STYLES[k % len(PRIOR_STYLES)],
                    color=f"C{k % 10}", lw=1.6, label=prior,
                )  # fmt: skip
        ax.axhline(threshold, color="0.3", lw=0.8, label=f"threshold {threshold:g}")
        ax.axvline(margin, color="firebrick", lw=0.9, ls="--", label=f"plan margin {margin:g}")
        title = model if len(models) > 1 else f"{endpoint}: P(NI) by margin ({model})"
        ax.set_title(title, fontsize=9.5)
        ax.set_ylim(0, 1.02)
        ax.grid(color="0.93", lw=0.6)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(6))
    for ax in axes.flat[len(models) :]:
        ax.set_visible(False)
    fig.supxlabel(xlabel, fontsize=9.5)
    fig.supylabel("posterior P(non-inferior)", fontsize=9.5)
    if len(models) > 1:
        fig.suptitle(f"{endpoint}: probability of non-inferiority by margin", fontsize=10.5)
    handles, labels = legend_entries(axes.flat)
    order = sorted(range(len(labels)), key=lambda i: labels[i] not in priors)  # priors first
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    fig.legend(
        handles, labels, loc="outside right upper", fontsize=8.5, frameon=False, title="prior"
    )
    return save(fig, path)


def forest(
    summary: pd.DataFrame,
    quantity: str,
    ref: float,
    margins: dict[str, float],
    xlabel: str,
    path: Path,
    log: bool = False,
    priors: list[str] | None = None,
) -> Path:
    """Posterior median and 95% interval of `quantity`: one panel per endpoint, one row per
    model, priors side by side in colour (legend beside the panels), a shared x axis with few
    plain-number ticks, the NI margin dashed."""
    d = summary[summary["quantity"] == quantity].reset_index(drop=True)
    endpoints = list(dict.fromkeys(d["endpoint"]))
    order = priors or list(dict.fromkeys(d["prior"]))  # colour per prior
    priors = [p for p in order if p in set(d["prior"])]
    sizes = [d.loc[d["endpoint"] == e, "model"].nunique() for e in endpoints]
    fig, axes = plt.subplots(
        len(endpoints), 1, figsize=(8.2, 0.55 * sum(sizes) + 0.6 * len(endpoints) + 1.0),
        dpi=110, sharex=True, squeeze=False, layout="constrained",
        gridspec_kw={"height_ratios": [s + 0.6 for s in sizes]},
    )  # fmt: skip
    step = 0.7 / max(len(priors), 1)
    for ax, e in zip(axes[:, 0], endpoints, strict=True):
        g = d[d["endpoint"] == e]
        models = list(dict.fromkeys(g["model"]))
        rows = {m: len(models) - 1 - i for i, m in enumerate(models)}
        for j, prior in enumerate(priors):
            p = g[g["prior"] == prior]
            if not len(p):
                continue
            y = p["model"].map(rows).to_numpy() + (len(priors) - 1) / 2 * step - j * step
            colour = f"C{order.index(prior) % 10}"
            ax.hlines(y, p["q2.5"], p["q97.5"], color=colour, lw=1.5)
            ax.plot(p["q50"], y, "o", color=colour, ms=4.5, label=prior)
        ax.axvline(ref, color="0.5", lw=0.8)
        if e in margins:
            ax.axvline(margins[e], color="firebrick", ls="--", lw=1.0, label="NI margin")
        ax.set_yticks(list(rows.values()), list(rows), fontsize=9)
        ax.set_ylim(-0.5, len(models) - 0.5)
        ax.set_title(e, fontsize=10, loc="left")
        ax.grid(axis="x", color="0.93", lw=0.6)
    handles, labels = legend_entries(axes[:, 0])
    fig.legend(handles, labels, loc="outside right upper", fontsize=8.5, frameon=False)
    last = axes[-1, 0]
    if log:
        last.set_xscale("log")
        lo = min(d["q2.5"].min(), ref, *margins.values())
        hi = max(d["q97.5"].max(), ref, *margins.values())
        last.set_xlim(lo / 1.1, hi * 1.1)
        log_hr_axis(last.xaxis)
    else:
        last.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(7))
    last.set_xlabel(xlabel)
    fig.suptitle(f"Posterior medians and 95% intervals: {quantity}", fontsize=10.5)
    return save(fig, path)
