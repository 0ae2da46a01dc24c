"""`bayes-btc report` rebuilds the report from a results folder, and refuses bad folders."""

from __future__ import annotations

import json
import shutil

import pytest

from bayes_btc.cli import app


@pytest.fixture
def results(quick_results, tmp_path):
    out = tmp_path / "results"
    shutil.copytree(quick_results, out)
    return out


def test_report_rebuilds_the_same_files(runner, results):
    before = {n: (results / n).read_bytes() for n in ("report.md", "report.html")}
    for n in before:
        (results / n).unlink()
    r = runner.invoke(app, ["report", "--results", str(results)])
    assert r.exit_code == 0, r.output
    assert {n: (results / n).read_bytes() for n in before} == before


def test_report_is_self_contained_and_has_every_section(results):
    page = (results / "report.html").read_text()
    for section in (
        "The question and the plan",
        "Assumptions and approximations",
        "Audit of the inputs",
        "Decisions in words",
        "side by side",
        "against the exact posterior",
        "Diagnostics",
        "Provenance",
    ):
        assert section in page, section
    assert "<script" not in page and "src='http" not in page and "<link" not in page
    index = json.loads((results / "figures" / "index.json").read_text())
    assert page.count("data:image/png;base64,") == len(index) >= 10


def test_incomplete_or_foreign_folders_exit_2(runner, results, tmp_path):
    (results / "decisions.csv").unlink()
    r = runner.invoke(app, ["report", "--results", str(results)])
    assert r.exit_code == 2 and "incomplete: missing decisions.csv" in r.stderr
    other = tmp_path / "other"
    shutil.copytree(results, other)
    (other / "decisions.csv").write_text("x\n")
    prov = json.loads((other / "provenance.json").read_text())
    prov["results_format"] = 0
    (other / "provenance.json").write_text(json.dumps(prov))
    r = runner.invoke(app, ["report", "--results", str(other)])
    assert r.exit_code == 2 and "results format 0" in r.stderr
    r = runner.invoke(app, ["report", "--results", str(tmp_path / "none")])
    assert r.exit_code == 2 and "not found" in r.stderr
