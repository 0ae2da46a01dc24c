"""The results folder is replaced only by a complete run."""

from __future__ import annotations

import pytest

from bayes_btc.errors import InputError
from bayes_btc.results import staged_output


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_success_replaces_the_folder(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "old.csv").write_text("old")
    with staged_output(out) as stage:
        (stage / "new.csv").write_text("new")
    assert _snapshot(out) == {(out / "new.csv").relative_to(out): b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_failure_leaves_previous_results_untouched(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "summary.csv").write_text("previous")
    before = _snapshot(out)
    with pytest.raises(RuntimeError), staged_output(out) as stage:
        (stage / "summary.csv").write_text("half")
        raise RuntimeError("fit failed")
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_unwritable_or_file_target_is_input_error(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="not a folder"), staged_output(f):
        pass
    with pytest.raises(InputError, match="cannot write"), staged_output(f / "sub" / "out"):
        pass
