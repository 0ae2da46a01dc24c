"""No figure has overlapping tick labels or a legend over its data.

The check reads the renderer's bounding boxes (display coordinates) of tick labels, legends
and plotted vertices. It is first shown to catch both faults on figures made to have them;
then every figure of a run is checked: the table-drawn ones redrawn from the committed
default results, and every figure of a quick run as recorded while it was drawn."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from bayes_btc.analysis.table_figures import table_figure_specs
from bayes_btc.output.draw import draw_figures
from bayes_btc.output.figures.layout import layout_problems
from bayes_btc.output.saved import load_results
from tests.conftest import COMMITTED, committed_copy


def test_the_check_finds_overlapping_tick_labels():
    fig, ax = plt.subplots(figsize=(3, 2))
    ticks = np.linspace(0, 1, 25)
    ax.set_xticks(ticks, [f"{t:.4f}" for t in ticks])
    problems = layout_problems(fig)
    plt.close(fig)
    assert any("x tick labels" in p for p in problems)


def test_the_check_finds_a_legend_over_data_and_passes_one_outside():
    x = np.linspace(0, 1, 200)
    fig, ax = plt.subplots(figsize=(4, 3))
    for k in range(6):
        ax.plot(x, x**0.5 * (k + 1) / 6, label=f"line {k}")
    ax.legend(loc="center")
    assert any("legend" in p for p in layout_problems(fig))
    ax.get_legend().remove()
    fig.legend(loc="outside right upper")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    assert layout_problems(fig) == []
    plt.close(fig)


def test_a_clean_figure_passes():
    fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    ax.plot([0, 1, 2], [0, 1, 0], label="a")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    assert layout_problems(fig) == []
    plt.close(fig)


@pytest.fixture(scope="module")
def committed(tmp_path_factory) -> Path:
    out = committed_copy(tmp_path_factory, "committed")
    return out


def test_table_figures_of_the_default_run_are_clean(committed, tmp_path):
    """Summary, P(NI) curves and forest plots, redrawn from the committed tables."""
    specs = table_figure_specs(load_results(committed))
    assert {s.kind for s in specs} >= {"summary", "ni_curve", "forest"}
    index = draw_figures(specs, tmp_path)
    bad = {i["file"]: i["layout"] for i in index if i["layout"]}
    assert not bad, bad


def test_committed_figures_recorded_no_layout_problem():
    """Figures that need the posterior draws are checked as they are drawn; the committed
    index records what was found (runs before the check record nothing)."""
    index = json.loads((COMMITTED / "figures" / "index.json").read_text())
    bad = {i["file"]: i["layout"] for i in index if i.get("layout")}
    assert not bad, bad


def test_every_figure_of_a_run_is_clean(quick_results):
    """A quick run draws every kind of figure the default run draws (same plan)."""
    index = json.loads((quick_results / "figures" / "index.json").read_text())
    kinds = {i["file"].split("_")[0] for i in index}
    assert kinds >= {"summary", "ni", "forest", "km", "density", "tipping", "historical"}
    assert all("layout" in i for i in index)
    bad = {i["file"]: i["layout"] for i in index if i["layout"]}
    assert not bad, bad
