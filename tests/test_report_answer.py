"""The report answers first: before the first table, one paragraph per endpoint with its
conclusion and the summary figure; the PDF's main part (before the appendix) is at most 8 pages
for the default run; probabilities near 0 or 1 are printed as bounds; a missing WeasyPrint is
said in one line and the HTML is still written. Rendered from the committed default results
(no fitting)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from bayes_btc.output.numbers import fmt
from bayes_btc.output.redraw import rebuild_report
from bayes_btc.output.report import APPENDIX, report_blocks, title_of, to_html, write_report
from bayes_btc.output.saved import load_results
from tests.conftest import committed_copy

MAX_MAIN_PAGES = 8


@pytest.fixture(scope="module")
def default(tmp_path_factory) -> Path:
    out = committed_copy(tmp_path_factory, "default")
    rebuild_report(out)
    return out


def test_answer_and_summary_figure_come_before_the_first_table(default):
    page = (default / "report.html").read_text()
    head = page[: page.index("<table")]
    prov = json.loads((default / "provenance.json").read_text())
    treatment, control = prov["study"]["treatment"], prov["study"]["control"]
    answers = re.findall(r"<p class='answer'><strong>(.*?)</strong>", head)
    assert len(answers) == len(prov["endpoints"])
    for e, a in zip(prov["endpoints"], answers, strict=True):
        assert a.startswith(f"{e} (") and ("non-inferior" in a or "not shown" in a), a
    assert (
        f"Is {treatment} non-inferior (or, where the plan's margin asks it, superior) to {control}?"
        in head.replace("&#x27;", "'")
    )
    assert "fig-summary" in head and head.index("fig-summary") > head.rindex("class='answer'")
    decisions = pd.read_csv(default / "decisions.csv")
    at_margin = decisions["non_inferior"] & (decisions["estimand"] == "noninferiority")
    shown = set(decisions.loc[at_margin, "endpoint"])  # the answer is about the plan's margin
    for e, a in zip(prov["endpoints"], answers, strict=True):
        assert ("not shown" not in a) == (e in shown), a


def test_pdf_main_part_is_at_most_8_pages(default):
    from weasyprint import HTML

    assert (default / "report.pdf").read_bytes()[:5] == b"%PDF-"
    r = load_results(default)
    doc = HTML(string=to_html(title_of(r), report_blocks(r), printed=True)).render()

    def walk(tree):
        for label, target, children, _state in tree:
            yield label, target[0]
            yield from walk(children)

    appendix = [page for label, page in walk(doc.make_bookmark_tree()) if label == APPENDIX]
    assert len(appendix) == 1 and len(doc.pages) > appendix[0]
    assert appendix[0] <= MAX_MAIN_PAGES, f"main part has {appendix[0]} pages"


@pytest.mark.parametrize(
    ("p", "text"),
    [(1.0, "> 0.9999"), (0.99996, "> 0.9999"), (0.0, "< 0.0001"), (3e-5, "< 0.0001"),
     (0.9745, "0.9745"), (0.4776, "0.478"), (0.012, "0.0120"), (float("nan"), "–")],
)  # fmt: skip
def test_probabilities_are_printed_honestly(p, text):
    assert fmt(p, probability=True) == text


def test_labels_come_from_the_data_and_certain_probabilities_are_bounds(
    default, tmp_path, monkeypatch
):
    """Rename the arms and endpoint labels, and make one P(NI) exactly 1: the report says
    the new names and prints '> 0.9999', never a bare 1, for it."""
    out = tmp_path / "results"
    shutil.copytree(default, out)
    prov = json.loads((out / "provenance.json").read_text())
    prov["study"] |= {"treatment": "ArmNew", "control": "ArmOld"}
    first = prov["endpoints"][0]
    prov["study"]["labels"][first] = "A relabelled endpoint"
    (out / "provenance.json").write_text(json.dumps(prov))
    ni = pd.read_csv(out / "noninferiority.csv")
    row = ni.index[ni["estimand"] == "noninferiority"][0]
    ni.loc[row, "probability"] = 1.0
    ni.to_csv(out / "noninferiority.csv", index=False)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # the PDF is tested above
    write_report(out)
    page = (out / "report.html").read_text()
    assert (
        "Is ArmNew non-inferior (or, where the plan&#x27;s margin asks it, superior) to ArmOld?"
        in page
    )
    assert f"{first} (A relabelled endpoint)" in page
    assert "&gt; 0.9999" in page


def test_without_weasyprint_the_html_is_written_and_one_line_says_so(
    default, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "results"
    shutil.copytree(default, out)
    (out / "report.html").unlink()
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails
    written = write_report(out)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "report.pdf not written" in err[0]
    assert (out / "report.html").exists() and not (out / "report.pdf").exists()
    assert [p.name for p in written] == ["report.md", "report.html"]
