"""The PDF is rendered in two parts, so that its appendix is laid out while the main part's
figures are still being drawn: the appendix's figures are drawn first and the appendix is
rendered as soon as they are all on disk; the joined PDF holds the main part, then the
appendix (pages A-1, A-2, ...), with one outline. Rendered from the committed default results
(no fitting)."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

import pytest

from bayes_btc.output.parallel import Parallel
from bayes_btc.output.report import APPENDIX, ReportWriter
from bayes_btc.output.report_evidence import appendix_stems
from bayes_btc.output.saved import load_results
from bayes_btc.output.write import write_figures
from tests.conftest import committed_copy


@pytest.fixture(scope="module")
def default(tmp_path_factory) -> Path:
    out = committed_copy(tmp_path_factory, "pdf")
    return out


def _footer(page) -> str:
    """The text of a laid-out page's bottom-right margin box (its page number)."""
    boxes = [b for b in page._page_box.children if getattr(b, "at_keyword", "") == "@bottom-right"]
    return "".join(t.text for b in boxes for t in b.descendants() if hasattr(t, "text"))


def test_appendix_figures_are_those_after_the_appendix_heading(default):
    w = ReportWriter(load_results(default))
    html = w.write()[1].read_text()
    after = html[html.index(f">{APPENDIX}<") :]
    shown = re.findall(r"<figure class='fig-[^']*'><img alt='([^']*)'", after)
    index = json.loads((default / "figures" / "index.json").read_text())
    captions = {item["file"]: item["caption"] for item in index}
    files = [p.name for p in w.appendix_figures]
    assert files and all((default / "figures" / f).exists() for f in files)
    # what the writer draws first, from the figures' names alone
    stems = [item["file"].removesuffix(".png") for item in index]
    assert [f"{s}.png" for s in appendix_stems(stems, load_results(default).endpoints)] == files
    assert [captions[f] for f in files] == [s.replace("&#x27;", "'") for s in shown]


def test_pdf_joins_the_main_part_and_the_appendix_numbered_a1(default):
    pytest.importorskip("weasyprint")
    w = ReportWriter(load_results(default))
    written = w.write()
    assert default / "report.pdf" in written
    assert (default / "report.pdf").read_bytes()[:5] == b"%PDF-"
    main, appendix = w.pdf.docs["main"], w.pdf.docs["appendix"]
    assert 1 <= len(main.pages) <= 8 and len(appendix.pages) >= 1
    assert [_footer(p) for p in main.pages] == [str(i + 1) for i in range(len(main.pages))]
    assert [_footer(p) for p in appendix.pages] == [
        f"A-{i + 1}" for i in range(len(appendix.pages))
    ]
    joined = main.copy(main.pages + appendix.pages)

    def walk(tree):
        for label, target, children, _state in tree:
            yield label, target[0]
            yield from walk(children)

    marks = list(walk(joined.make_bookmark_tree()))
    assert (APPENDIX, len(main.pages)) in marks  # the appendix starts right after the main part
    assert marks[0][1] == 0 and marks[0][0].startswith("Bayesian re-analysis")


class _Report:
    """Stands for `ReportWriter` in `write_figures`: records which figures were drawn when
    its appendix was rendered."""

    def __init__(self, folder: Path, files: list[str]) -> None:
        self.folder, self.files, self.rendered_with = folder, files, None

    @property
    def appendix_figures(self) -> list[Path]:
        return [self.folder / f for f in self.files]

    def render_appendix(self) -> None:
        assert self.rendered_with is None, "rendered twice"
        self.rendered_with = sorted(p.name for p in self.folder.glob("*.png"))


def _draw(folder: Path, name: str) -> dict:
    (folder / name).write_bytes(b"png")
    return {"file": name, "caption": name, "layout": []}


@pytest.mark.parametrize("workers", [1, 2])
def test_appendix_is_rendered_once_its_figures_exist_and_the_index_keeps_figure_order(
    tmp_path, workers
):
    names = [f"f{i}.png" for i in range(6)]
    order = [4, 1, 0, 2, 3, 5]  # the appendix's figures (4, 1) are drawn first
    report = _Report(tmp_path, ["f4.png", "f1.png"])
    jobs = [partial(_draw, tmp_path, names[i]) for i in order]
    with Parallel(jobs, workers) as run:
        write_figures(run, order, tmp_path, report)  # type: ignore[arg-type]
    assert report.rendered_with is not None
    assert {"f1.png", "f4.png"} <= set(report.rendered_with)
    index = json.loads((tmp_path / "index.json").read_text())
    assert [item["file"] for item in index] == names
