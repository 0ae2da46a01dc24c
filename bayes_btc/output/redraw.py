"""Draws the figures a saved results folder can draw from its tables alone (P(NI) summary,
P(NI) by margin, forest plots) when it lacks them, or all of them on request, and updates
figures/index.json, so `bayes-btc report` shows them without refitting. Figures that need the
posterior draws are kept as saved."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from bayes_btc.analysis.table_figures import table_figure_specs
from bayes_btc.output.draw import draw_figures
from bayes_btc.output.report import write_report
from bayes_btc.output.saved import SavedResults, load_results


def redraw_table_figures(r: SavedResults, every: bool = False) -> list[dict]:
    """Draw the table-drawn figures a saved folder lacks (all of them with `every`; saved
    tables carry 6 significant digits, so a redrawn figure may differ from the fit's by a
    pixel); new figures (such as the summary) go first in the index, redrawn ones keep their
    place. Returns the new index."""
    folder = r.folder / "figures"
    index = json.loads((folder / "index.json").read_text())
    have = {i["file"] for i in index if (folder / i["file"]).exists()}
    specs = [s for s in table_figure_specs(r) if every or f"{s.file}.png" not in have]
    if not specs:
        return index
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        fresh = draw_figures(specs, Path(tmp))
        for item in fresh:
            shutil.move(Path(tmp) / item["file"], folder / item["file"])
    by_file = {item["file"]: item for item in fresh}
    known = {item["file"] for item in index}
    merged = [i for i in fresh if i["file"] not in known]
    merged += [by_file.get(i["file"], i) for i in index]
    tmp_index = folder / ".index.json.tmp"
    tmp_index.write_text(json.dumps(merged, indent=1) + "\n")
    tmp_index.replace(folder / "index.json")
    return merged


def rebuild_report(folder: str | Path, redraw: bool = False) -> list[Path]:
    """Draw the table-drawn figures a saved folder lacks (all with `redraw`), then rewrite
    its report files."""
    redraw_table_figures(load_results(folder), every=redraw)
    return write_report(Path(folder))
