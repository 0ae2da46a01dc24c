"""Survival figures: Kaplan-Meier against posterior survival bands, and the HR per interval of
the non-proportional-hazards model."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from bayes_btc.models.pwe_data import PWETable
from bayes_btc.output.figures.layout import save
from bayes_btc.output.figures.style import log_hr_axis


def km_vs_posterior(
    time: np.ndarray,
    event: np.ndarray,
    arm: np.ndarray,
    arms: tuple[str, str],
    bands: dict[str, dict[str, np.ndarray]],
    times: np.ndarray,
    title: str,
    path: Path,
) -> Path:
    """Kaplan-Meier per arm (lifelines) against posterior survival, median and 95% band,
    one panel per model (`bands`: model -> {"treatment"|"control": 3 x len(times)})."""
    from lifelines import KaplanMeierFitter

    fig, axes = plt.subplots(
        1,
        len(bands),
        figsize=(5.2 * len(bands), 4.0),
        dpi=110,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for ax, (model, b) in zip(axes[0], bands.items(), strict=True):
        for i, (role, label) in enumerate(zip(("treatment", "control"), arms, strict=True)):
            m = arm == i
            KaplanMeierFitter().fit(
                time[m], event[m], label=f"{label} Kaplan-Meier"
            ).plot_survival_function(ax=ax, ci_show=False, color=f"C{i}", lw=1.2)
            lo, med, hi = b[role]
            ax.plot(times, med, "--", color=f"C{i}", lw=1.0, label=f"{label} posterior median")
            ax.fill_between(times, lo, hi, color=f"C{i}", alpha=0.2, label=f"{label} 95% band")
        ax.set(
            xlabel="time (months)",
            ylabel="survival probability",
            ylim=(0, 1.02),
            title=model,
        )
        ax.legend(fontsize=7)
    fig.suptitle(f"{title}: Kaplan-Meier against posterior survival", fontsize=11)
    return save(fig, path)


def interval_hazard_ratios(
    bands: dict[str, np.ndarray],
    table: PWETable,
    endpoint: str,
    model: str,
    prior: str,
    path: Path,
) -> Path:
    """Posterior median and 95% interval of the HR (treatment vs control) in each interval of
    a non-PH PWE fit (`bands` from `models.pwe.interval_hr_bands`), as a step function over
    months (edges `table.edges`), with HR = 1 and the reported event-weighted average HR;
    events per interval (both arms) along the top."""
    lo, med, hi, avg = bands["lo"], bands["median"], bands["hi"], bands["average"]
    k = table.n_intervals
    edges = table.edges
    fig, ax = plt.subplots(figsize=(7.0, 4.4), dpi=110, layout="constrained")
    ax.stairs(hi, edges, baseline=lo, fill=True, color="C0", alpha=0.25, label="95% interval")
    ax.stairs(med, edges, color="C0", lw=1.8, baseline=None, label="posterior median")
    ax.axhline(1.0, color="0.3", lw=0.8, label="HR = 1")
    ax.axhline(
        avg[1],
        color="C1",
        ls="--",
        lw=1.0,
        label=f"event-weighted average HR {avg[1]:.2f} (95% {avg[0]:.2f} to {avg[2]:.2f})",
    )
    ax.set_yscale("log")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(min(lo.min(), 1.0) / 1.15, max(hi.max(), 1.0) * 1.35)
    log_hr_axis(ax.yaxis)
    xlabel = "time (months)"
    if k <= 15:
        for a, b, n in zip(edges[:-1], edges[1:], table.events.sum(axis=0), strict=True):
            ax.text(
                0.5 * (a + b),
                0.985,
                f"{n}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=7,
                color="0.35",
            )
        xlabel += "; grey numbers at the top: events per interval, both arms"
    ax.set(
        xlabel=xlabel,
        ylabel="hazard ratio, treatment vs control (log scale)",
        title=f"{endpoint} | {model}: hazard ratio by interval ({prior} prior)",
    )
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7, loc="best")
    return save(fig, path)
