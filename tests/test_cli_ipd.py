"""`bayes-btc fit --ipd/--adtte` as a user runs it, on a real randomised trial (GBSG-2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter

from bayes_btc.analysis.run import pwe_tables
from bayes_btc.cli import app
from bayes_btc.inputs.ipd import load_adtte, load_ipd_csv
from bayes_btc.output.write import CONTRACT_FILES

ARMS = ["--treatment", "HORM", "--control", "NOHORM"]


@pytest.fixture(scope="module")
def ipd_run(runner, gbsg2_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("ipd") / "results"
    args = ["fit", "--quick", "--ipd", str(gbsg2_files[1]["plain"]), *ARMS, "--endpoint", "OS"]
    r = runner.invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_ipd_fit_writes_pwe_rows_and_matches_cox(ipd_run, gbsg2_files):
    for name in CONTRACT_FILES:
        assert (ipd_run / name).exists(), name
    s = pd.read_csv(ipd_run / "summary.csv")
    assert set(s["model"]) == {"pwe_ph", "pwe_nonph"}
    assert {"hr", "median_HORM", "median_NOHORM", "rmst_diff", "s12_HORM"} <= set(s["quantity"])
    d = gbsg2_files[0]
    cox = CoxPHFitter().fit(
        pd.DataFrame({"t": d["time"], "e": d["cens"], "x": (d["horTh"] == "yes").astype(int)}),
        "t",
        "e",
    )
    hr = s.query("model == 'pwe_ph' and prior == 'vague' and quantity == 'hr'")["q50"].iloc[0]
    assert abs(hr / cox.hazard_ratios_["x"] - 1) < 0.03
    ni = pd.read_csv(ipd_run / "noninferiority.csv")
    assert {"noninferiority", "noninferiority_rmst", "treatment_better"} <= set(ni["estimand"])
    assert (ipd_run / "figures" / "km_OS.png").exists()


def test_median_not_reached_is_reported_as_such(ipd_run):
    s = pd.read_csv(ipd_run / "summary.csv")
    # HORM: S(t) stays near or above 0.5 to the end of follow-up in part of the posterior
    m = s.query("model == 'pwe_ph' and prior == 'vague' and quantity == 'median_HORM'").iloc[0]
    assert np.isinf(m["q97.5"]) and np.isnan(m["mean"])


def test_adam_csv_and_xpt_give_the_same_data_as_plain_csv(gbsg2_files, plan):
    files = gbsg2_files[1]
    plain = pwe_tables({"OS": load_ipd_csv(files["plain"], "HORM", "NOHORM", "OS")}, plan)["OS"]
    for key in ("csv", "xpt"):
        adam = pwe_tables(load_adtte(files[key], "HORM", "NOHORM"), plan)["OS"]
        np.testing.assert_array_equal(adam.events, plain.events)
        np.testing.assert_allclose(adam.exposure, plain.exposure, rtol=1e-12)
        np.testing.assert_allclose(adam.cuts, plain.cuts, rtol=1e-12)


def test_adtte_fit_reproduces_the_plain_csv_numbers(runner, ipd_run, gbsg2_files, tmp_path):
    out = tmp_path / "adam"
    r = runner.invoke(
        app, ["fit", "--quick", "--adtte", str(gbsg2_files[1]["xpt"]), *ARMS, "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    a, b = pd.read_csv(out / "summary.csv"), pd.read_csv(ipd_run / "summary.csv")
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


@pytest.mark.parametrize(
    ("make_args", "expected"),
    [
        (lambda f, t: ["--ipd", str(f["plain"]), "--treatment", "HORM"], "--control"),
        (
            lambda f, t: ["--ipd", str(f["plain"]), "--treatment", "X", "--control", "NOHORM"],
            "treatment arm 'X' has no patients",
        ),
        (lambda f, t: ["--ipd", str(f["csv"]), *ARMS], "missing column"),
        (lambda f, t: ["--ipd", str(t), *ARMS], "must be 0 or 1"),
        (lambda f, t: ["--adtte", str(f["csv"]), "--ipd", str(f["plain"]), *ARMS], "not both"),
    ],
)
def test_bad_patient_data_exits_2_with_one_line(runner, gbsg2_files, tmp_path, make_args, expected):
    bad = tmp_path / "bad.csv"
    bad.write_text("arm,time,event\nHORM,3.5,1\nNOHORM,2.0,2\nNOHORM,4.0,1\n")
    out = tmp_path / "results"
    r = runner.invoke(app, ["fit", "--quick", *make_args(gbsg2_files[1], bad), "--out", str(out)])
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and expected in lines[0], r.stderr
    assert not out.exists()
