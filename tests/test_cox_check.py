"""Cox check: lifelines Cox HR of the same data beside the PWE PH HR, warning, PH test.

Reference: the Gehan (1965) leukaemia remission data (lifelines `load_leukemia`), 6-MP vs
placebo, 21 patients each; the published Cox log-HR (Efron ties) is -1.572, SE 0.412
(Venables & Ripley, MASS, 4th ed., section 13.3: `coxph(Surv(time, cens) ~ treat, gehan)`
gives 1.572, SE 0.412, for placebo vs 6-MP; here 6-MP is the treatment, hence the sign)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from lifelines.datasets import load_leukemia

from bayes_btc.analysis.cox_check import cox_check_table, cox_reference, cox_warnings
from bayes_btc.inputs.datakey import DataKey
from bayes_btc.inputs.ipd import from_frame
from bayes_btc.models.fit import Fit


def gehan():
    d = load_leukemia()
    frame = pd.DataFrame(
        {"arm": np.where(d["Rx"] == 0, "MP6", "placebo"), "time": d["t"], "event": d["status"]}
    )
    return from_frame(frame, "MP6", "placebo", "remission", "Gehan 1965")


def test_cox_reference_matches_the_published_gehan_fit() -> None:
    ref = cox_reference(gehan())
    assert abs(ref["log_hr"] - (-1.572)) < 5e-4
    assert abs(ref["se"] - 0.412) < 5e-4
    assert ref["ci_low"] < ref["hr"] < ref["ci_high"]
    assert ref["p"] < 0.001
    assert 0 <= ref["ph_test_p"] <= 1


def fake_fit(hr: float, dataset: int | None = None) -> Fit:
    draws = np.random.default_rng(0).normal(np.log(hr), 0.01, (2, 200))
    arr = xr.DataArray(np.exp(draws), dims=("chain", "draw"))
    model = "pwe_ph" if dataset is None else "pwe_ph_reconstructed"
    return Fit("remission", model, "vague", model, {"hr": arr}, {}, dataset=dataset)


def test_warning_when_pwe_and_cox_differ_by_more_than_5_percent() -> None:
    d = gehan()
    cox_hr = cox_reference(d)["hr"]
    key = DataKey("remission")
    close = cox_check_table([fake_fit(cox_hr * 1.03)], {key: d}, "vague")
    far = cox_check_table([fake_fit(cox_hr * 1.10)], {key: d}, "vague")
    assert not close["warning"].iloc[0] and far["warning"].iloc[0]
    assert abs(far["relative_difference"].iloc[0] - 0.10) < 0.01
    assert (far[["n_treatment", "n_control", "events"]].iloc[0] == [21, 21, 30]).all()
    assert any("WARNING remission" in s for s in cox_warnings(far))
    assert not any("WARNING" in s for s in cox_warnings(close))


def test_reconstructed_sets_are_matched_by_dataset() -> None:
    d = gehan()
    keys = {DataKey("remission", 1): d, DataKey("remission", 2): d}
    fits = [fake_fit(0.2, 1), fake_fit(0.5, 2), fake_fit(0.9)]  # the last: other data
    table = cox_check_table(fits, keys, "vague")
    assert list(table["data"]) == ["remission#1", "remission#2"]
    assert table["reconstructed"].all()
    assert np.allclose(table["pwe_hr"], [0.2, 0.5], rtol=0.01)
