"""Exposure bookkeeping, exactly: against a per-patient loop and hypothesis examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bayes_btc.errors import InputError
from bayes_btc.models.pwe_data import cuts_by_events, pwe_table, validate_cuts


def _brute(time, event, arm, edges):
    k = len(edges) - 1
    ev, ex = np.zeros((2, k)), np.zeros((2, k))
    for t, e, a in zip(time, event, arm, strict=True):
        for j in range(k):
            ex[a, j] += min(max(t - edges[j], 0.0), edges[j + 1] - edges[j])
            if edges[j] < t <= edges[j + 1] or (j == 0 and t == 0):
                ev[a, j] += e
    return ev, ex


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 60),
    seed=st.integers(0, 10_000),
    n_cuts=st.integers(0, 6),
)
def test_exposure_and_events_match_a_per_patient_loop(n, seed, n_cuts):
    rng = np.random.default_rng(seed)
    time = np.round(rng.exponential(8.0, n) + 0.01, 2)  # ties happen at 2 decimals
    event = rng.integers(0, 2, n)
    arm = rng.integers(0, 2, n)
    end = time.max()
    cuts = np.unique(np.round(rng.uniform(0.05, end, n_cuts), 2))
    cuts = cuts[(cuts > 0) & (cuts < end)]
    tab = pwe_table(time, event, arm, cuts)
    ev, ex = _brute(time, event, arm, tab.edges)
    np.testing.assert_array_equal(tab.events, ev)
    np.testing.assert_allclose(tab.exposure, ex, rtol=0, atol=1e-9)
    assert tab.exposure.sum() == pytest.approx(time.sum())  # total exposure = total follow-up
    assert tab.events.sum() == event.sum()  # each event counted once
    for a in (0, 1):
        assert tab.exposure[a].sum() == pytest.approx(time[arm == a].sum())


def test_event_on_a_cut_point_belongs_to_the_interval_it_closes():
    tab = pwe_table(np.array([2.0, 3.0, 5.0]), np.array([1, 1, 0]), np.array([0, 0, 1]), [2.0])
    assert tab.events.tolist() == [[1, 1], [0, 0]]
    assert tab.exposure.tolist() == [[4.0, 1.0], [2.0, 3.0]]


@pytest.mark.parametrize(
    ("cuts", "message"),
    [
        ([0.0, 2.0], "only internal cut points > 0"),
        ([3.0, 2.0], "strictly increasing"),
        ([2.0, 2.0], "strictly increasing"),
        ([2.0, 12.0], "not below the end of follow-up"),
        ([float("nan")], "finite numbers"),
    ],
)
def test_bad_cut_points_say_how_to_fix_them(cuts, message):
    with pytest.raises(InputError, match=message):
        validate_cuts(cuts, end=10.0)


def test_cut_rule_gives_about_the_asked_events_per_interval():
    rng = np.random.default_rng(3)
    time = rng.exponential(10, 400)
    event = (rng.random(400) < 0.75).astype(int)
    cuts = cuts_by_events(time, event, per_interval=20, max_intervals=30)
    tab = pwe_table(time, event, np.zeros(400, dtype=int), cuts)
    assert tab.n_intervals == event.sum() // 20
    assert tab.events[0].min() >= 15 and tab.events[0].max() <= 25
    assert len(cuts_by_events(time, event, per_interval=1, max_intervals=30)) == 29


def test_cuts_never_leave_one_arm_alone_in_the_last_interval() -> None:
    """One arm followed to 8 months, the other to 40: every interval, the last included,
    has patients of both arms at risk (positive exposure per arm)."""
    from bayes_btc.models.pwe_data import common_end, cuts_by_events, pwe_table

    rng = np.random.default_rng(3)
    short = np.minimum(rng.exponential(6.0, 60), 8.0)
    long = np.minimum(rng.exponential(12.0, 60), 40.0)
    time = np.r_[short, long]
    event = np.r_[(short < 8.0), (long < 40.0)].astype(int)
    arm = np.r_[np.zeros(60, int), np.ones(60, int)]
    assert common_end(time, arm) == short.max()
    unrestricted = cuts_by_events(time, event, 4, 30)
    assert unrestricted.max() > short.max()  # the old rule cut past the short arm's end
    cuts = cuts_by_events(time, event, 4, 30, arm)
    assert cuts.max() < short.max()
    table = pwe_table(time, event, arm, cuts)
    assert (table.exposure > 0).all()
