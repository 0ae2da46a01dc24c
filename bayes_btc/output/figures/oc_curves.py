"""Operating-characteristic curves: P(declare NI) against the true effect, one line per prior,
the NI margin and the one-sided 0.025 level marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from bayes_btc.output.figures.style import PRIOR_STYLES, log_hr_axis


def oc_curve(rows: pd.DataFrame, margin: float, title: str, path: Path) -> None:
    """One panel: rows of oc.csv for one endpoint x model x control value."""
    hr = rows["model"].iloc[0] != "beta_binomial"
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for i, (prior, g) in enumerate(rows.groupby("prior", sort=False)):
        g = g.sort_values("effect")
        ax.plot(
            g["effect"],
            g["p_declare"],
            PRIOR_STYLES[i % len(PRIOR_STYLES)],
            marker="o",
            ms=3,
            label=prior,
        )
        if (g["method"] == "simulation").any():
            ax.fill_between(
                g["effect"],
                g["p_declare"] - 2 * g["mcse"],
                g["p_declare"] + 2 * g["mcse"],
                alpha=0.15,
            )
    ax.axvline(margin, color="grey", lw=1, label=f"margin {margin:g}")
    ax.axhline(0.025, color="red", lw=0.8, ls=":", label="0.025")
    if hr:
        ax.set_xscale("log")
        log_hr_axis(ax.xaxis)
    ax.set_xlabel(
        "true HR (treatment vs control)" if hr else "true rate difference (treatment - control)"
    )
    ax.set_ylabel("P(declare non-inferiority)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)
