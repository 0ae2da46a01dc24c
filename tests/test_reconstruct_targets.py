"""Reconstruction targets from any two-arm spec: arm split, NR medians, p-value bounds,
events and landmark survival, relative tolerance, budget and the failure message, the cache.
Every accepted set is re-checked with lifelines (KaplanMeierFitter, CoxPHFitter)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from pydantic import ValidationError

from bayes_btc.errors import InputError
from bayes_btc.inputs.audit import audit_trial
from bayes_btc.inputs.plan import ReconstructionSettings
from bayes_btc.inputs.trial import TrialSpec
from bayes_btc.reconstruction.cache import reconstruct_trial
from bayes_btc.reconstruction.summary import SummaryTarget, reconstruct_from_summary


def spec(**survival) -> TrialSpec:
    s = {
        "label": "Overall survival",
        "median_months": {"A": 11.7, "B": 8.1},
        "hr": 0.64,
        "ci": [0.52, 0.80],
        "p": "<0.001",
        "quote": "q",
    } | survival
    return TrialSpec.model_validate(
        {
            "trial": {"id": "X", "title": "t", "source": "s", "treatment": "A", "control": "B"},
            "arms": {
                "A": {"label": "a", "randomised": 204, "quote": "q"},
                "B": {"label": "b", "randomised": 206, "quote": "q"},
            },
            "survival": {"OS": s},
        }
    )


def test_spec_accepts_nr_medians_and_p_bounds() -> None:
    s = spec(median_months={"A": "NR", "B": 8.1}, not_reached_by_months=30.0).survival["OS"]
    assert math.isinf(s.median_months["A"]) and s.not_reached == ["A"]
    assert spec(median_months={"A": float("inf"), "B": 8.1}, not_reached_by_months=30.0)
    assert s.p_parsed == ("<", 0.001)
    assert spec(p=0.021).survival["OS"].p_parsed == ("=", 0.021)
    with pytest.raises(ValidationError, match="not_reached_by_months"):
        spec(median_months={"A": "NR", "B": 8.1})
    with pytest.raises(ValidationError, match="bound such as"):
        spec(p="about 0.05")


def test_p_bound_is_audited_as_a_bound() -> None:
    """HR 0.64 (0.52-0.80): the Wald p is at most 0.0006 within the printed rounding, so
    '<0.001' is consistent, '>0.001' and an exact 'p = 0.01' are not."""
    rows = audit_trial(spec()).table.query("check == 'p_value_vs_ci'")
    assert rows["consistent"].all() and rows["reported"].iloc[0] == "p < 0.001"
    for p in (0.01, ">0.001"):
        other = audit_trial(spec(p=p)).table.query("check == 'p_value_vs_ci'")
        assert not other["consistent"].any()


def test_arm_split_from_the_spec() -> None:
    t = SummaryTarget.from_trial(spec(), "OS")
    assert (t.n_treatment, t.n_control) == (204, 206)
    assert (t.treatment, t.control) == ("A", "B")
    raw = spec().model_dump()
    raw["evaluable"] = {"n": 400, "quote": "q"}
    raw["survival"]["OS"]["population"] = "evaluable"
    t = SummaryTarget.from_trial(TrialSpec.model_validate(raw), "OS")
    assert (t.n_treatment, t.n_control) == (199, 201) and "ASSUMED split 199/201" in t.note
    raw["arms"]["A"]["evaluable"], raw["arms"]["B"]["evaluable"] = 190, 205
    t = SummaryTarget.from_trial(TrialSpec.model_validate(raw), "OS")
    assert (t.n_treatment, t.n_control) == (190, 205) and "as published" in t.note


def test_ranges_scale_with_the_trial_and_follow_the_publication() -> None:
    t = SummaryTarget.from_trial(spec(), "OS")
    assert t.accrual_months == pytest.approx((11.7, 35.1))
    assert t.median_tol == 0.10 and t.median_half_width(11.7) == pytest.approx(1.17)
    raw = spec().model_dump()
    raw["conduct"] = {"median_followup_months": 20.0}
    t = SummaryTarget.from_trial(TrialSpec.model_validate(raw), "OS")
    # median potential follow-up C - A/2 within 10% of 20 months at both ends of the ranges
    assert t.extra_followup_months[0] + t.accrual_months[1] / 2 == pytest.approx(18.0)
    assert t.extra_followup_months[1] + t.accrual_months[0] / 2 == pytest.approx(22.0)
    plan = ReconstructionSettings(accrual_months=(5.0, 6.0), median_tolerance=0.2)
    t = SummaryTarget.from_trial(TrialSpec.model_validate(raw), "OS", plan)
    assert t.accrual_months == (5.0, 6.0) and t.median_tol == 0.2


def lifelines_stats(g, arms):
    out = {}
    for arm in arms:
        a = g[g["arm"] == arm]
        km = KaplanMeierFitter().fit(a["time"], a["event"])
        out[arm] = km
    x = g.assign(x=(g["arm"] == arms[0]).astype(int))[["time", "event", "x"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter().fit(x, "time", "event")
    return out, cph


def test_nr_events_landmarks_and_p_bound_are_met() -> None:
    """A trial whose treatment median was not reached by 12 months, with events per arm,
    12-month... survival and a p bound: every accepted set meets each target (lifelines)."""
    target = SummaryTarget(
        "OS", 120, 120, math.inf, 6.0, 0.45, (0.32, 0.63), not_reached_by=12.0,
        events=(40, 75), landmarks=((6.0, 0.78, 0.5),), p_bound=("<", 0.001),
        treatment="A", control="B",
    )  # fmt: skip
    ipd, cal = reconstruct_from_summary(target, n_sets=3, seed=5, max_sims=400_000)
    assert "s6_A" in cal and "NR" not in cal.attrs["note"]
    for _, g in ipd.groupby("dataset"):
        km, cph = lifelines_stats(g, ("A", "B"))
        assert km["A"].median_survival_time_ > 12.0
        assert abs(km["B"].median_survival_time_ - 6.0) <= 0.6 + 1e-9
        assert abs(g.loc[g["arm"] == "A", "event"].sum() - 40) <= 4
        assert abs(g.loc[g["arm"] == "B", "event"].sum() - 75) <= 7.5
        assert abs(float(km["A"].survival_function_at_times(6.0).iloc[0]) - 0.78) <= 0.05
        assert abs(float(km["B"].survival_function_at_times(6.0).iloc[0]) - 0.5) <= 0.05
        assert cph.summary.loc["x", "p"] < 0.001
        assert abs(math.exp(cph.params_["x"]) / 0.45 - 1) <= 0.05 + 1e-3


def test_failure_names_the_target_met_least_often() -> None:
    target = SummaryTarget(
        "OS", 50, 50, 10.0, 8.0, 0.8, (0.5, 1.28), events=(49, 2), treatment="A", control="B"
    )
    with pytest.raises(InputError) as err:
        reconstruct_from_summary(target, n_sets=5, max_sims=10_000)
    msg = str(err.value)
    assert "\n" not in msg and "only 0 of 5" in msg
    assert "events of B (2)" in msg and "events_tolerance" in msg and "max_simulations" in msg


def test_fit_reconstruction_is_cached_and_deterministic(tmp_path) -> None:
    s, settings, said = spec(), ReconstructionSettings(), []
    first = reconstruct_trial(s, "sha", settings, 2, 11, said.append, tmp_path)
    again = reconstruct_trial(s, "sha", settings, 2, 11, said.append, tmp_path)
    assert not first.cached and again.cached and first.path == again.path
    assert any("cached in" in m for m in said) and any("read from the cache" in m for m in said)
    np.testing.assert_array_equal(first.sets["OS"][1].time, again.sets["OS"][1].time)
    other = reconstruct_trial(s, "sha", settings, 2, 12, None, tmp_path)
    assert other.path != first.path
    assert not np.array_equal(other.sets["OS"][0].time, first.sets["OS"][0].time)
    assert "204 A and 206 B patients" in first.sets["OS"][0].note
