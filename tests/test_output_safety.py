"""`--out` never removes a folder bayes-btc did not write: the current folder, "", the folder
holding the trial spec, a folder of other files, or a results folder holding an input are
refused with one line and exit 2 before any work, and every file is left as it was."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bayes_btc.cli import app
from bayes_btc.errors import InputError
from bayes_btc.output.contract import MARKER
from bayes_btc.output.folder import check_output_folder, marker_text, staged_output
from tests.conftest import BUNDLED_TRIAL


def _files(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def user_folder(tmp_path, monkeypatch) -> Path:
    """A user's working folder: their trial spec, notes and a script; the cwd of the run."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "trial.toml").write_text(BUNDLED_TRIAL.read_text())
    (work / "notes.txt").write_text("my notes\n")
    (work / "run.sh").write_text("bayes-btc fit\n")
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        (".", "current folder"),
        ("", "current folder"),  # typer reads "" as "."
        ("{work}", "current folder"),
        ("{tmp}", "current folder"),  # a folder holding the current one
        ("{other}", "did not write"),
        ("{marked}", "holds the input"),
    ],
    ids=["dot", "empty", "spec-folder", "parent-of-cwd", "foreign-files", "marked-holds-spec"],
)
def test_fit_refuses_folders_it_did_not_write(runner, user_folder, out, expected):
    tmp = user_folder.parent
    other = tmp / "other"
    other.mkdir()
    (other / "data.csv").write_text("a,b\n1,2\n")
    marked = tmp / "marked"
    marked.mkdir()
    (marked / MARKER).write_text(marker_text())
    (marked / "spec.toml").write_text(BUNDLED_TRIAL.read_text())
    trial = marked / "spec.toml" if out == "{marked}" else user_folder / "trial.toml"
    out = out.format(work=user_folder, tmp=tmp, other=other, marked=marked)
    before = _files(tmp)
    r = runner.invoke(app, ["fit", "--quick", "--trial", str(trial), "--out", out])
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert _files(tmp) == before
    assert sorted(p.name for p in tmp.iterdir()) == ["marked", "other", "work"]


def test_spec_folder_refused_when_not_current(runner, user_folder, tmp_path, monkeypatch):
    """The spec's own folder named from elsewhere: it holds an input, refused."""
    monkeypatch.chdir(tmp_path)
    before = _files(user_folder)
    trial = user_folder / "trial.toml"
    r = runner.invoke(app, ["fit", "--trial", str(trial), "--out", str(user_folder)])
    assert r.exit_code == 2 and "holds the input" in r.stderr, r.output
    assert _files(user_folder) == before


def test_reconstruct_out_naming_a_folder(runner, user_folder):
    (user_folder / "km.csv").write_text("arm,time,survival\nA,0,1\nA,2,0.8\nB,0,1\nB,2,0.7\n")
    before = _files(user_folder)
    for out in (".", str(user_folder)):
        args = ["reconstruct", "--km", "km.csv", "--n", "A=20", "--n", "B=20", "--out", out]
        r = runner.invoke(app, args)
        assert r.exit_code == 2, r.output
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "it is a folder" in lines[0], lines
    assert _files(user_folder) == before


def test_marked_and_empty_folders_are_replaced(tmp_path):
    for name, marked in (("empty", False), ("earlier", True)):
        out = tmp_path / name
        out.mkdir()
        if marked:
            (out / MARKER).write_text(marker_text())
            (out / "summary.csv").write_text("old\n")
        with staged_output(out) as stage:
            (stage / "summary.csv").write_text("new\n")
        assert (out / "summary.csv").read_text() == "new\n"
        assert (out / MARKER).read_text() == marker_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier", "empty"]


@contextlib.contextmanager
def _unrenamable(parent: Path) -> Iterator[None]:
    """Make entries of `parent` impossible to rename: read-only for a normal user; for root
    (who may rename anywhere) the immutable attribute, where the file system supports it."""
    if os.geteuid() != 0:
        parent.chmod(0o555)
        try:
            yield
        finally:
            parent.chmod(0o755)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: no way to make a folder unrenamable")
    done = subprocess.run(["chattr", "+i", str(parent)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i not supported here: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(parent)], check=True)


def test_unrenamable_folder_fails_before_work(tmp_path):
    parent = tmp_path / "locked"
    out = parent / "results"
    out.mkdir(parents=True)
    (out / MARKER).write_text(marker_text())
    (out / "summary.csv").write_text("old\n")
    with _unrenamable(parent):
        with pytest.raises(InputError, match="cannot"):
            check_output_folder(out)
        r = CliRunner().invoke(app, ["fit", "--summary-only", "--quick", "--out", str(out)])
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "cannot" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "summary.csv"])
    assert (out / "summary.csv").read_text() == "old\n"
    assert sorted(p.name for p in parent.iterdir()) == ["results"]


def test_committed_results_carry_the_marker(quick_results):
    root = Path(__file__).parents[1]
    assert (root / "results" / MARKER).read_text() == marker_text()
    assert (quick_results / MARKER).read_text() == marker_text()
