"""The bundled reconstruction: regenerated exactly by its command, and every data set
reproduces the abstract (checked independently with lifelines), and the Guyot command."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

from bayes_btc.cli import app
from bayes_btc.reconstruction.bundled import BUNDLED
from tests.test_reconstruct_km import cox_hr, digitise, risk_table, simulate

SHIPPED = __import__("pathlib").Path(__file__).parents[1] / "bayes_btc" / "data" / BUNDLED


def test_reconstruct_from_summary_regenerates_the_shipped_file(runner, tmp_path):
    out = tmp_path / "reconstructed_ipd.csv"
    r = runner.invoke(app, ["reconstruct", "--from-summary", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == SHIPPED.read_bytes()
    assert "RECONSTRUCTED" in r.output


@pytest.mark.parametrize("endpoint", ["PFS", "OS"])
def test_every_shipped_set_reproduces_the_abstract(spec, endpoint):
    s = spec.survival[endpoint]
    target_width = math.log(s.ci[1]) - math.log(s.ci[0])
    d = pd.read_csv(SHIPPED).query("endpoint == @endpoint")
    assert d["dataset"].nunique() >= 20
    for _, g in d.groupby("dataset"):
        assert (g["arm"] == "TP").sum() == 24 and (g["arm"] == "GP").sum() == 24
        for arm in ("TP", "GP"):
            a = g[g["arm"] == arm]
            m = KaplanMeierFitter().fit(a["time"], a["event"]).median_survival_time_
            assert abs(m - s.median_months[arm]) <= 0.5
        x = g.assign(tp=(g["arm"] == "TP").astype(int))[["time", "event", "tp"]]
        cph = CoxPHFitter().fit(x, "time", "event")
        hr = float(np.exp(cph.params_["tp"]))
        lo, hi = cph.confidence_intervals_.to_numpy()[0]
        assert abs(hr / s.hr - 1) <= 0.05 + 1e-3  # lifelines' tolerance on its Newton steps
        assert abs((hi - lo) / target_width - 1) <= 0.15 + 1e-3


def test_guyot_command_recovers_the_cox_hr(runner, tmp_path):
    ipd = simulate(3)
    km, risk = digitise(ipd, 3), risk_table(ipd)
    km.to_csv(tmp_path / "km.csv", index=False)
    risk.to_csv(tmp_path / "risk.csv", index=False)
    out = tmp_path / "ipd.csv"
    r = runner.invoke(
        app,
        [
            "reconstruct",
            "--km",
            str(tmp_path / "km.csv"),
            "--at-risk",
            str(tmp_path / "risk.csv"),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "max_abs_delta_S" in r.output
    rec = pd.read_csv(out)
    assert list(rec.columns) == ["arm", "time", "event"]
    assert abs(cox_hr(rec) / cox_hr(ipd) - 1) < 0.05
    acc = pd.read_csv(tmp_path / "ipd_accuracy.csv")
    assert (acc["max_abs_delta_at_risk"] <= 2).all()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--out", "x.csv"], "give --km"),
        (["--km", "missing.csv", "--out", "x.csv"], "not found"),
        (["--km", "KM", "--n", "TP30", "--out", "x.csv"], "--n takes ARM=N"),
    ],
)
def test_reconstruct_bad_input_exits_2(runner, tmp_path, args, expected):
    km = tmp_path / "km.csv"
    km.write_text("arm,time,survival\nA,1,0.9\n")
    args = [str(km) if a == "KM" else a for a in args]
    r = runner.invoke(app, ["reconstruct", *args])
    assert r.exit_code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and expected in lines[0], r.stderr
