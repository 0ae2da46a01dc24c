"""Rank plots of the chains (Vehtari et al. 2021)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.ticker import FuncFormatter, MaxNLocator
from scipy import stats

from bayes_btc.models.fit import Fit
from bayes_btc.output.figures.layout import save


def short_count(x: float, _pos: int | None = None) -> str:
    """A rank tick: 8000 as is, 120000 as 120k (long labels overlap in small panels)."""
    return f"{x / 1000:g}k" if abs(x) >= 10_000 else f"{x:g}"


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of all values of `x` together (ties get their average rank, as
    `scipy.stats.rankdata`), shaped like `x`; by numpy's unstable sort, which is faster and
    gives the same average ranks."""
    flat = np.asarray(x, dtype=float).ravel()
    order = np.argsort(flat)
    s = flat[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    counts = np.diff(np.r_[starts, len(s)])
    ranks = np.empty(len(s))
    ranks[order] = np.repeat(starts + (counts + 1) / 2, counts)
    return ranks.reshape(np.shape(x))


def rank_plots(fits: list[Fit], quantity: str, path: Path, max_fits: int = 12) -> Path:
    """Rank plots (Vehtari et al. 2021) of `quantity` for the first `max_fits` fits having it.

    All draws of a fit are ranked together; each chain's ranks are shown as a histogram on
    its own row, with the expected count under uniformity (dashed) and the central 95% range
    of a bin count if the chains agree (grey band); bars too tall for their row are cut and
    marked with a triangle. Uniform bars mean the chains agree."""
    chosen = [f for f in fits if quantity in f.draws][:max_fits]
    if not chosen:
        raise ValueError(f"no fit has a quantity {quantity!r}")
    ncol = min(4, len(chosen))
    nrow = math.ceil(len(chosen) / ncol)
    fig, axes = plt.subplots(
        nrow,
        ncol,
        figsize=(3.6 * ncol, 2.6 * nrow + 0.6),
        dpi=110,
        squeeze=False,
        layout="constrained",
    )
    for ax, f in zip(axes.ravel(), chosen, strict=False):
        x = np.asarray(f.draws[quantity].transpose("chain", "draw").values, dtype=float)
        n_chain, n_draw = x.shape
        ranks = average_ranks(x)
        n_bins = int(np.clip(n_draw // 50, 5, 20))
        bins = np.linspace(0.5, x.size + 0.5, n_bins + 1)
        expected = n_draw / n_bins
        band = stats.binom.ppf([0.025, 0.975], n_draw, 1 / n_bins) / expected
        scale = 0.6  # each chain has a row 1 high; the expected count reaches 0.6 of it
        for c in range(n_chain):
            counts, _ = np.histogram(ranks[c], bins=bins)
            height = counts / expected * scale
            over = height > 0.95  # bars taller than the row are cut and marked
            ax.stairs(
                c + np.minimum(height, 0.95),
                bins,
                baseline=c,
                fill=True,
                color=f"C{c % 10}",
                alpha=0.75,
            )
            if over.any():
                mids = 0.5 * (bins[:-1] + bins[1:])[over]
                ax.plot(mids, np.full(len(mids), c + 0.95), "^", color="k", ms=3)
        # every chain's band and expected count as one artist each (fewer artists to draw)
        rows = np.arange(n_chain)
        ax.add_collection(
            PolyCollection(
                [
                    [(bins[0], lo), (bins[-1], lo), (bins[-1], hi), (bins[0], hi)]
                    for lo, hi in zip(rows + scale * band[0], rows + scale * band[1], strict=True)
                ],
                facecolor="0.5",
                alpha=0.3,
                linewidth=0,
            ),
            autolim=False,
        )
        ax.hlines(rows + scale, bins[0], bins[-1], color="0.2", ls="--", lw=0.7)
        ax.set_yticks(np.arange(n_chain) + scale / 2, [str(c) for c in range(n_chain)])
        ax.set_ylim(0, n_chain)
        ax.set_xlim(bins[0], bins[-1])
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(short_count))
        ax.set_xlabel("rank among the pooled draws", fontsize=8)
        ax.set_ylabel("chain", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"{f.endpoint} | {f.model} | {f.prior}", fontsize=8)
    for ax in axes.ravel()[len(chosen) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"Rank plots of {quantity} (per-chain histograms of ranks): uniform bars, inside the "
        "grey 95% band, mean the chains agree",
        fontsize=9.5,
    )
    return save(fig, path)
