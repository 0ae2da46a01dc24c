"""Draws `FigureSpec`s: which drawing function serves each figure kind, and the index entry
of each figure drawn (file, caption, layout problems found while drawing)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bayes_btc.analysis.result import FigureSpec
from bayes_btc.output.figures.chains import rank_plots
from bayes_btc.output.figures.curves import forest, ni_curves
from bayes_btc.output.figures.density import prior_likelihood_posterior
from bayes_btc.output.figures.historical import historical_prior
from bayes_btc.output.figures.layout import FigureLayoutWarning
from bayes_btc.output.figures.summary import ni_summary
from bayes_btc.output.figures.survival import interval_hazard_ratios, km_vs_posterior
from bayes_btc.output.figures.tipping import heatmap
from bayes_btc.output.parallel import Parallel

DRAW: dict[str, Callable[..., object]] = {
    "summary": ni_summary,
    "ni_curve": ni_curves,
    "forest": forest,
    "km": km_vs_posterior,
    "density": prior_likelihood_posterior,
    "interval_hr": interval_hazard_ratios,
    "ranks": rank_plots,
    "historical": historical_prior,
    "tipping": heatmap,
}


def draw_one(spec: FigureSpec, folder: Path) -> dict:
    """Draw one figure into `folder`; its index entry (file, caption, and the layout problems
    found while drawing, empty when the figure is clean)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FigureLayoutWarning)
        DRAW[spec.kind](**spec.data, path=folder / f"{spec.file}.png")
    problems = [str(w.message) for w in caught if issubclass(w.category, FigureLayoutWarning)]
    return index_entry(spec, problems)


def index_entry(spec: FigureSpec, problems: list[str] | None = None) -> dict:
    """A figure's entry in figures/index.json: file, caption and the layout problems found
    while drawing it (None before it is drawn)."""
    return {"file": f"{spec.file}.png", "caption": spec.caption, "layout": problems}


def figure_jobs(specs: list[FigureSpec], folder: Path) -> list[Callable[[], dict]]:
    """One job per figure (for `Parallel`), each returning the figure's index entry."""
    return [partial(draw_one, spec, folder) for spec in specs]


def draw_figures(specs: list[FigureSpec], folder: Path, workers: int | None = None) -> list[dict]:
    """Draw figures into `folder`, in parallel processes (`workers`, default every available
    core); their index entries in the order of `specs`."""
    with Parallel(figure_jobs(specs, folder), workers) as run:
        return run.results()
