"""The results folder is replaced only by a complete run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayes_btc.errors import InputError
from bayes_btc.output.contract import MARKER
from bayes_btc.output.folder import marker_text, staged_output


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_success_replaces_the_folder(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / MARKER).write_text(marker_text())
    (out / "old.csv").write_text("old")
    with staged_output(out) as stage:
        (stage / "new.csv").write_text("new")
    assert _snapshot(out) == {Path("new.csv"): b"new", Path(MARKER): marker_text().encode()}
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_failure_leaves_previous_results_untouched(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / MARKER).write_text(marker_text())
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


def test_results_hold_the_contract_and_posteriors_carry_their_settings(quick_results):
    """Every contract file is written, and each posterior/*.nc stores the plan and sampler
    settings it was fitted with (as in the provenance), refusing other settings on load."""
    import json

    from bayes_btc.inputs.plan import Plan, Sampler
    from bayes_btc.output.contract import CONTRACT_FILES
    from bayes_btc.output.provenance import config_hash
    from bayes_btc.output.saved import read_posterior

    assert all((quick_results / f).exists() for f in CONTRACT_FILES)
    prov = json.loads((quick_results / "provenance.json").read_text())
    plan = Plan.model_validate(prov["plan"]["content"])
    sampler = Sampler.model_validate(
        {k: v for k, v in prov["sampler"].items() if k in Sampler.model_fields}
    )
    files = sorted((quick_results / "posterior").glob("*.nc"))
    assert {f.stem for f in files} >= {"loghr_summary", "beta_binomial"}
    for f in files:
        tree = read_posterior(f, plan, sampler)
        a = tree.attrs
        assert json.loads(a["plan_json"]) == prov["plan"]["content"]
        assert json.loads(a["sampler_json"])["draws"] == prov["sampler"]["draws"]
        assert a["config_sha256"] == config_hash(a["plan_json"], a["sampler_json"])
        assert a["plan_sha256"] == prov["plan"]["sha256"]
    other = plan.model_copy(update={"decision_threshold": 0.9})
    with pytest.raises(InputError, match="another plan"):
        read_posterior(files[0], other)
    with pytest.raises(InputError, match="another sampler"):
        read_posterior(files[0], None, sampler.model_copy(update={"draws": 7}))
