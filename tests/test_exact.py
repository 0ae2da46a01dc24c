"""The closed forms against independent numerical references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from bayes_btc.exact import normal_posterior, prob_beta_diff_above, prob_hr_below, prob_rate_diff


def test_normal_posterior_against_numerical_integration():
    prior, y, se = (0.26, 0.16), 0.285, 0.399
    dens = lambda t: stats.norm.pdf(t, *prior) * stats.norm.pdf(y, t, se)  # noqa: E731
    z, _ = integrate.quad(dens, -5, 5)
    below, _ = integrate.quad(dens, -5, np.log(1.3))
    assert prob_hr_below(prior, y, se, 1.3) == pytest.approx(below / z, abs=1e-9)
    mean, _ = integrate.quad(lambda t: t * dens(t), -5, 5)
    assert normal_posterior(*prior, y, se)[0] == pytest.approx(mean / z, abs=1e-9)


@pytest.mark.parametrize("margin", [-0.2, -0.1, 0.0, 0.1, 0.25])
@pytest.mark.parametrize("ab", [(14, 21, 13, 23), (0.5, 3.5, 2, 40), (20.5, 13.5, 26.5, 8.5)])
def test_beta_difference_against_double_integral(ab, margin):
    a1, b1, a2, b2 = ab
    ref, _ = integrate.dblquad(
        lambda y, x: stats.beta.pdf(x, a1, b1) * stats.beta.pdf(y, a2, b2),
        0,
        1,
        lambda x: 0.0,
        lambda x: min(max(x - margin, 0.0), 1.0),
        epsabs=1e-11,
        epsrel=1e-11,
    )
    assert prob_beta_diff_above(a1, b1, a2, b2, margin) == pytest.approx(ref, abs=1e-7)


def test_rate_difference_directions_are_complements():
    up = prob_rate_diff((13, 12), (33, 34), (1, 1), -0.1, ">")
    down = prob_rate_diff((13, 12), (33, 34), (1, 1), -0.1, "<")
    assert up + down == pytest.approx(1.0)
    assert prob_beta_diff_above(2, 2, 2, 2, 1.0) == 0.0
    assert prob_beta_diff_above(2, 2, 2, 2, -1.0) == 1.0
