"""The command line as a user meets it: files written, decisions printed, bad input refused."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from bayes_btc.cli import app
from bayes_btc.output.contract import MARKER
from bayes_btc.output.folder import marker_text
from bayes_btc.output.write import CONTRACT_FILES
from tests.conftest import BUNDLED_TRIAL, DEFAULT_PLAN


def test_quick_fit_writes_the_whole_contract(quick_results):
    for name in CONTRACT_FILES:
        assert (quick_results / name).exists(), name
    s = pd.read_csv(quick_results / "summary.csv")
    assert list(s.columns) == [
        "endpoint",
        "model",
        "prior",
        "quantity",
        "mean",
        "sd",
        "q2.5",
        "q50",
        "q97.5",
        "r_hat",
        "ess_bulk",
        "ess_tail",
    ]
    assert set(s["endpoint"]) == {
        "PFS",
        "OS",
        "ORR",
        "AE_myelosuppression",
        "AE_liver_kidney",
        "AE_gastrointestinal",
        "AE_rash_allergy",
        "AE_fever_influenza",
    }
    assert set(s["model"]) == {
        "loghr_summary",
        "loghr_summary_inverted",
        "beta_binomial",
        "pwe_ph_reconstructed",
        "pwe_nonph_reconstructed",
    }
    pwe = s[s["model"].str.startswith("pwe")]
    assert set(pwe["endpoint"]) == {"PFS", "OS"}
    assert {"median_TP", "median_GP", "rmst_diff"} <= set(pwe["quantity"])
    tipping = pd.read_csv(quick_results / "tipping_point.csv")
    assert set(tipping["endpoint"]) == set(s["endpoint"])
    assert (quick_results / "figures" / "tipping_PFS.png").exists()
    spread = pd.read_csv(quick_results / "reconstruction_spread.csv")
    assert (spread["n_sets"] == 20).all() and (spread["min"] <= spread["max"]).all()
    assert {"hr", "log_hr", "rate_TP", "rate_GP", "rate_diff"} <= set(s["quantity"])
    ni = pd.read_csv(quick_results / "noninferiority.csv")
    assert list(ni.columns) == [
        "endpoint",
        "model",
        "prior",
        "estimand",
        "margin",
        "direction",
        "probability",
        "mcse",
    ]
    assert ni["probability"].between(0, 1).all()
    assert (ni["mcse"] > 0).all()
    prov = json.loads((quick_results / "provenance.json").read_text())
    assert prov["sampler"]["quick"] is True and len(prov["trial"]["sha256"]) == 64
    assert prov["versions"]["pymc"].startswith("6")
    report = (quick_results / "report.md").read_text()
    assert "non-inferiority" in report and "Audit of the inputs" in report
    assert "side by side" in report and "RECONSTRUCTED" in report
    assert (quick_results / "figures" / "km_PFS_reconstructed.png").exists()
    html = (quick_results / "report.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html and "http" not in html


def test_posterior_files_open_with_arviz(quick_results):
    import arviz as az

    tree = az.from_netcdf(quick_results / "posterior" / "loghr_summary.nc")
    assert set(tree["posterior"].to_dataset().dims) >= {"chain", "draw", "endpoint", "prior"}
    assert tree.attrs["plan_sha256"]


def test_quick_fit_probabilities_near_the_exact_values(quick_results):
    """Vague prior, PFS as printed: P(HR < 1.3) from the normal closed form (scipy)."""
    from scipy import stats

    se = (math.log(2.91) - math.log(0.61)) / (2 * stats.norm.ppf(0.975))
    prec = 1 / 10.0**2 + 1 / se**2
    mean = (math.log(1.33) / se**2) / prec
    ref = stats.norm.cdf(math.log(1.3), mean, prec**-0.5)
    ni = pd.read_csv(quick_results / "noninferiority.csv")
    row = ni.query(
        "endpoint == 'PFS' and model == 'loghr_summary' and prior == 'vague' "
        "and estimand == 'noninferiority'"
    )
    assert abs(row["probability"].iloc[0] - ref) < 0.05  # 2000 draws: MCSE ~ 0.011


def test_audit_command_prints_and_writes(runner, tmp_path):
    out = tmp_path / "audit.csv"
    r = runner.invoke(app, ["audit", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "no integer count on 33 rounds to 56%" in r.output
    assert pd.read_csv(out)["consistent"].eq(False).sum() == 9


def _bad_trial(tmp_path, old, new):
    p = tmp_path / "trial.toml"
    p.write_text(BUNDLED_TRIAL.read_text().replace(old, new, 1))
    return ["--trial", str(p)]


def _bad_plan(tmp_path, old, new):
    p = tmp_path / "plan.toml"
    p.write_text(DEFAULT_PLAN.read_text().replace(old, new, 1))
    return ["--plan", str(p)]


@pytest.mark.parametrize(
    ("make_args", "expected"),
    [
        (lambda t: ["--trial", str(t / "missing.toml")], "trial spec not found"),
        (lambda t: _bad_trial(t, "[trial]", "[trial"), "invalid TOML"),
        (
            lambda t: _bad_trial(t, 'percent = { TP = "61"', 'percent = { TP = "161"'),
            "outside 0-100",
        ),
        (
            lambda t: _bad_trial(t, "ci = [0.61, 2.91]", "ci = [1.5, 2.91]"),
            "does not contain the HR",
        ),
        (
            lambda t: _bad_plan(t, "harm_rate_diff = 0.10", "harm_rate_diff = -1.5"),
            "margins.harm_rate_diff",
        ),
        (lambda t: ["--prior", "optimistic"], "unknown prior name"),
        (lambda t: ["--out", str(BUNDLED_TRIAL)], "not a folder"),
    ],
)
def test_bad_input_exits_2_with_one_line(runner, tmp_path, make_args, expected):
    out = tmp_path / "results"
    out.mkdir()
    (out / MARKER).write_text(marker_text())
    (out / "summary.csv").write_text("previous run\n")
    args = make_args(tmp_path)
    if "--out" not in args:
        args += ["--out", str(out)]
    r = runner.invoke(app, ["fit", "--quick", *args])
    assert r.exit_code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], r.stderr
    assert "Traceback" not in r.output
    assert (out / "summary.csv").read_text() == "previous run\n"
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "summary.csv"]
