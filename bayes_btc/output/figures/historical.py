"""Figures of the historical control priors: the earlier trials, the MAP predictive draws and
the mixtures that approximate them (one figure per endpoint)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from bayes_btc.output.figures.layout import save
from bayes_btc.priors.map_prior import HistoricalPriors


def _trial_intervals(hp: HistoricalPriors, endpoint: str) -> tuple[list[str], np.ndarray]:
    """Per trial: (label, [estimate, low, high]) on the display scale (rate or months)."""
    rows = hp.trials[hp.trials["endpoint"] == endpoint]
    out = []
    for r in rows.itertuples():
        if r.scale == "rate":  # exact (Clopper-Pearson) 95% interval
            k, n = int(r.events), int(r.n)
            lo = stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
            hi = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
            out.append([k / n, lo, hi])
        else:
            y, z = np.log(r.value), 1.959964 * r.se
            out.append([r.value, np.exp(y - z), np.exp(y + z)])
    return [str(t) for t in rows["trial"]], np.array(out)


def historical_prior(hp: HistoricalPriors, endpoint: str, control: str, path: Path) -> Path:
    """Left: each earlier trial's control-arm estimate with its 95% interval, and the MAP
    prior's 95% interval for a new trial. Right: the MAP predictive draws (histogram) with
    the fitted mixture and its robust version."""
    p = hp.priors[endpoint]
    rate = p.scale == "rate"
    unit = f"{control} response rate" if rate else f"{control} median {endpoint} (months)"
    labels, iv = _trial_intervals(hp, endpoint)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.8), dpi=110, layout="constrained")
    y = np.arange(len(labels))[::-1] + 1
    ax0.errorbar(iv[:, 0], y, xerr=[iv[:, 0] - iv[:, 1], iv[:, 2] - iv[:, 0]], fmt="o", color="C0")
    q = np.quantile(p.draws, [0.025, 0.5, 0.975])
    q = q if rate else np.exp(q)
    ax0.errorbar(q[1], 0, xerr=[[q[1] - q[0]], [q[2] - q[1]]], fmt="D", color="C3")
    ax0.set_yticks([*y, 0], [*labels, "MAP prior (new trial)"])
    ax0.set(xlabel=unit, title=f"{endpoint}: earlier {control} arms, 95% intervals")
    if rate:
        grid = np.linspace(0.001, 0.999, 500)
    else:  # log medians, shown in months on a linear axis
        lo, hi = np.quantile(p.draws, [0.001, 0.999])
        grid = np.linspace(lo - 0.3, hi + 0.3, 500)
    x = grid if rate else np.exp(grid)
    counts, edges = np.histogram(p.draws, bins=80, density=True)
    ax1.stairs(
        counts,
        edges if rate else np.exp(edges),
        fill=True,
        alpha=0.3,
        color="C2",
        label="MAP predictive draws (MCMC)",
    )
    ax1.plot(x, p.map.pdf(grid), color="C0", label=f"mixture: {p.map.describe(2)}")
    ax1.plot(x, p.robust.pdf(grid), "--", color="C3", label="robust mixture (with vague part)")
    row = hp.table[hp.table["endpoint"] == endpoint].set_index("prior")["ess"]
    ess_unit = hp.table.loc[hp.table["endpoint"] == endpoint, "ess_unit"].iloc[0]
    ax1.set(
        xlabel=unit,
        ylabel="density" + ("" if rate else " per unit of log median"),
        xlim=(x[0], x[-1]),
        title=f"MAP prior for a new trial's {control} arm\nESS: {row.iloc[0]:.0f} {ess_unit} "
        f"(robust: {row.iloc[-1]:.0f})",
    )
    ax1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    return save(fig, path)
