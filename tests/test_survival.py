"""Median inversion, S(t) and RMST of piecewise-constant hazards, against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from bayes_btc.models.pwe_survival import (
    cumulative_hazard,
    median_survival,
    rmst,
    survival_at,
    survival_curve,
)

EDGES = np.array([0.0, 2.0, 5.0, 10.0])


def test_constant_hazard_median_is_log2_over_rate():
    lam = np.array([0.05, 0.1, 0.3])
    log_h = np.log(np.repeat(lam[:, None], 3, axis=1))
    expected = np.log(2) / lam
    got = median_survival(log_h, EDGES)
    assert np.isinf(got[0])  # log 2 / 0.05 = 13.9 months, beyond the 10 months followed
    np.testing.assert_allclose(got[1:], expected[1:], rtol=1e-12)


def test_piecewise_median_by_hand():
    # H(2) = 0.2, H(5) = 0.8 > log 2: t = 2 + (log 2 - 0.2) / 0.2
    log_h = np.log([[0.1, 0.2, 0.05]])
    assert median_survival(log_h, EDGES)[0] == pytest.approx(2 + (math.log(2) - 0.2) / 0.2)
    assert survival_at(5.0, log_h, EDGES)[0] == pytest.approx(math.exp(-0.8))
    assert np.isnan(survival_at(10.5, log_h, EDGES)[0])  # never extrapolated


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.005, 2.0), min_size=3, max_size=3))
def test_survival_at_the_median_is_one_half(rates):
    log_h = np.log(np.array([rates]))
    m = median_survival(log_h, EDGES)[0]
    if np.isfinite(m):
        assert survival_at(float(m), log_h, EDGES)[0] == pytest.approx(0.5, abs=1e-12)
    else:
        assert survival_at(10.0, log_h, EDGES)[0] > 0.5


@pytest.mark.parametrize("tau", [1.0, 2.0, 4.5, 10.0])
def test_rmst_is_the_integral_of_survival(tau):
    log_h = np.log([[0.1, 0.2, 0.05]])
    ref, _ = integrate.quad(lambda t: survival_at(t, log_h, EDGES)[0], 0, tau, points=[2, 5])
    assert rmst(tau, log_h, EDGES)[0] == pytest.approx(ref, rel=1e-10)
    assert np.isnan(rmst(12.0, log_h, EDGES)[0])


def test_survival_curve_by_hand_and_never_extrapolated():
    # hazards 0.1, 0.2, 0.05 per month on [0, 2), [2, 5), [5, 10]: H(2) = 0.2, H(5) = 0.8
    log_h = np.log([[0.1, 0.2, 0.05], [0.3, 0.3, 0.3]])
    times = np.array([-1.0, 0.0, 1.0, 2.0, 3.5, 5.0, 10.0, 10.5])
    expected_h = np.array(
        [[np.nan, 0.0, 0.1, 0.2, 0.5, 0.8, 1.05, np.nan], 0.3 * times]  # constant: H = 0.3 t
    )
    expected_h[1, [0, -1]] = np.nan
    np.testing.assert_allclose(survival_curve(times, log_h, EDGES), np.exp(-expected_h), rtol=1e-12)
    np.testing.assert_allclose(
        cumulative_hazard(log_h, EDGES)[0], [0.0, 0.2, 0.8, 1.05], rtol=1e-12
    )
