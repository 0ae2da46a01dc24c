"""ABC reconstruction from a published summary: numpy KM/Cox vs lifelines, calibration, seeds.

The calibration checks recompute every statistic of every reconstructed data set with lifelines
(KaplanMeierFitter, CoxPHFitter run to full convergence), independently of the module's own.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import CoxPHFitter, KaplanMeierFitter
from scipy.optimize import minimize_scalar

from bayes_btc.errors import InputError
from bayes_btc.inputs.trial import TrialSpec
from bayes_btc.reconstruction.summary import (
    SummaryTarget,
    cox_binary,
    km_median,
    reconstruct_from_summary,
    to_ipd,
)

TIGHT = {"precision": 1e-14, "r_precision": 0.0, "step_size": 1.0}  # lifelines to convergence
SLACK = 1e-6  # lifelines vs module arithmetic at a tolerance boundary


def lifelines_cox(time, event, x) -> tuple[float, float, float]:
    """(log HR, SE, log CI width at 95%) from lifelines (Efron ties)."""
    df = pd.DataFrame({"t": time, "e": event, "x": x})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CoxPHFitter().fit(df, "t", "e", fit_options=TIGHT)
    lo, hi = fit.confidence_intervals_.loc["x"]
    return fit.params_["x"], fit.standard_errors_["x"], hi - lo


def random_data(rng: np.random.Generator, tied: bool) -> tuple[np.ndarray, ...]:
    n = int(rng.integers(12, 60))
    time = rng.integers(1, 12, n).astype(float) if tied else rng.exponential(10.0, n)
    event = (rng.random(n) < 0.7).astype(int)
    x = (np.arange(n) < n // 2).astype(float)
    event[[0, n - 1]] = 1  # an event in each group
    return time, event, x


@given(
    st.lists(st.tuples(st.integers(1, 8), st.booleans()), min_size=1, max_size=30),
)
@settings(max_examples=60, deadline=None)
def test_km_median_equals_lifelines_exactly(data: list[tuple[int, bool]]) -> None:
    time = np.array([t for t, _ in data], float) / 2.0  # heavy ties
    event = np.array([e for _, e in data], int)
    expected = KaplanMeierFitter().fit(time, event).median_survival_time_
    assert km_median(time, event)[0] == expected


def test_km_median_batched_rows_equal_lifelines() -> None:
    rng = np.random.default_rng(7)
    time, event = rng.exponential(8.0, (40, 24)), (rng.random((40, 24)) < 0.6).astype(int)
    got = km_median(time, event)
    for row in range(40):
        assert got[row] == KaplanMeierFitter().fit(time[row], event[row]).median_survival_time_
    assert np.isinf(km_median(np.arange(1.0, 6.0), np.zeros(5))[0])  # not reached


@pytest.mark.parametrize("tied", [False, True])
def test_cox_equals_lifelines(tied: bool) -> None:
    """Efron (lifelines' method) on tied data; without ties Breslow = Efron = lifelines."""
    rng = np.random.default_rng(11 + tied)
    for _ in range(30):
        time, event, x = random_data(rng, tied)
        b, se = cox_binary(time, event, x, ties="efron" if tied else "breslow")
        ref_b, ref_se, _ = lifelines_cox(time, event, x)
        assert np.exp(b[0]) == pytest.approx(np.exp(ref_b), rel=1e-6)
        assert se[0] == pytest.approx(ref_se, rel=1e-6)


def breslow_neg_loglik(beta: float, time, event, x) -> float:
    """Minus the Breslow partial log-likelihood, written directly (risk set: time >= t)."""
    risk = np.array([np.exp(beta * x[time >= t]).sum() for t in time])
    return -float(np.sum(event * (beta * x - np.log(risk))))


def test_cox_breslow_ties_maximise_breslow_likelihood() -> None:
    rng = np.random.default_rng(5)
    for _ in range(10):
        data = random_data(rng, tied=True)
        ref = minimize_scalar(
            breslow_neg_loglik,
            bounds=(-8, 8),
            args=data,
            method="bounded",
            options={"xatol": 1e-10},
        )
        b, se = cox_binary(*data, ties="breslow")
        h = 1e-4
        f = [breslow_neg_loglik(ref.x + d, *data) for d in (-h, 0.0, h)]
        assert b[0] == pytest.approx(ref.x, abs=1e-6)
        assert se[0] == pytest.approx(1 / np.sqrt((f[0] - 2 * f[1] + f[2]) / h**2), rel=1e-4)


def test_cox_batch_rows_and_degenerate_data() -> None:
    rng = np.random.default_rng(3)
    time, event = rng.exponential(8.0, (50, 30)), np.ones((50, 30))
    x = (np.arange(30) < 15).astype(float)
    b, se = cox_binary(time, event, x)
    for row in (0, 17, 49):
        one = cox_binary(time[row], event[row], x)
        assert (one[0][0], one[1][0]) == pytest.approx((b[row], se[row]), rel=1e-9)
    no_events_in_x1 = np.r_[np.zeros(15), np.ones(15)]
    assert np.isnan(cox_binary(time[0], no_events_in_x1, x)[0][0])  # no finite MLE


@pytest.fixture(scope="module", params=["PFS", "OS"])
def reconstructed(request, spec: TrialSpec):
    target = SummaryTarget.from_trial(spec, request.param)
    ipd, calibration = reconstruct_from_summary(target)
    return target, ipd, calibration


def test_reconstruction_reproduces_published_summary(reconstructed) -> None:
    target, ipd, calibration = reconstructed
    assert (target.n_treatment, target.n_control) == (24, 24)
    assert sorted(ipd["dataset"].unique()) == list(range(1, 21))
    assert "24/24" in ipd.attrs["note"] and "24/24" in calibration.attrs["note"]
    published_width = np.log(target.ci[1] / target.ci[0])
    for k, g in ipd.groupby("dataset"):
        assert (g["arm"].value_counts() == 24).all() and set(g["arm"]) == {"TP", "GP"}
        assert (g["time"] > 0).all() and set(g["event"]) <= {0, 1}
        medians = {}
        for arm, published in (("TP", target.median_treatment), ("GP", target.median_control)):
            sub = g[g["arm"] == arm]
            medians[arm] = KaplanMeierFitter().fit(sub["time"], sub["event"]).median_survival_time_
            assert abs(medians[arm] - published) <= 0.5 + 1e-12
        b, _, width = lifelines_cox(g["time"], g["event"], (g["arm"] == "TP").astype(float))
        assert abs(np.exp(b) / target.hr - 1) <= 0.05 + SLACK
        assert abs(width / published_width - 1) <= 0.15 + SLACK
        row = calibration.set_index("dataset").loc[k]
        assert (row["median_treatment"], row["median_control"]) == (medians["TP"], medians["GP"])
        assert row["hr"] == pytest.approx(np.exp(b), rel=1e-6)
        assert row["ci_width_log"] == pytest.approx(width, rel=1e-6)
        assert row["events"] == g["event"].sum()
    assert (calibration["accepted_of"] >= 20).all()
    assert (calibration["target_hr"] == target.hr).all()


def test_to_ipd(reconstructed) -> None:
    target, ipd, _ = reconstructed
    sets = to_ipd(ipd, target)
    assert len(sets) == 20
    first = sets[0]
    assert first.reconstructed and first.endpoint == target.endpoint
    assert first.source == "reconstructed from published summary (dataset 1)"
    assert (first.treatment, first.control) == ("TP", "GP")
    np.testing.assert_array_equal(first.time, ipd.loc[ipd["dataset"] == 1, "time"])


def test_deterministic_for_a_seed(spec: TrialSpec) -> None:
    target = SummaryTarget.from_trial(spec, "PFS")
    a = reconstruct_from_summary(target, n_sets=3, seed=1)
    b = reconstruct_from_summary(target, n_sets=3, seed=1)
    c = reconstruct_from_summary(target, n_sets=3, seed=2)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert not np.array_equal(a[0]["time"], c[0]["time"])
    assert not a[1]["hr"].equals(c[1]["hr"])


def test_impossible_target_raises_one_line() -> None:
    target = SummaryTarget("PFS", 24, 24, 7.7, 7.5, 5.0, (4.99, 5.01))
    with pytest.raises(InputError) as err:
        reconstruct_from_summary(target, n_sets=20, max_sims=2000)
    msg = str(err.value)
    assert "\n" not in msg
    assert "only 0 of 20 data sets accepted in 2000 simulations" in msg
    assert "max_sims" in msg and "relax" in msg


def test_bad_targets_raise(spec: TrialSpec) -> None:
    with pytest.raises(InputError, match="no survival endpoint 'DFS'"):
        SummaryTarget.from_trial(spec, "DFS")
    with pytest.raises(InputError, match="CI low < HR < CI high"):
        SummaryTarget("PFS", 24, 24, 7.7, 7.5, 3.0, (0.61, 2.91))
    with pytest.raises(InputError, match="n_sets and max_sims"):
        reconstruct_from_summary(SummaryTarget.from_trial(spec, "OS"), n_sets=0)
