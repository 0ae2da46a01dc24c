"""The closed forms against independent numerical references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from bayes_btc.models.beta_binomial import prob_rate_diff_mixture
from bayes_btc.models.loghr_summary import prob_hr_below_mixture
from bayes_btc.priors.mixdiff import prob_beta_diff_above
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture


def prob_rate_diff(events, n, prior, margin, direction):
    both = BetaMixture.single(*prior)
    return prob_rate_diff_mixture(events, n, (both, both), margin, direction)


def test_normal_posterior_against_numerical_integration():
    prior, y, se = (0.26, 0.16), 0.285, 0.399
    dens = lambda t: stats.norm.pdf(t, *prior) * stats.norm.pdf(y, t, se)  # noqa: E731
    z, _ = integrate.quad(dens, -5, 5)
    below, _ = integrate.quad(dens, -5, np.log(1.3))
    single = NormalMixture.single(*prior)
    assert prob_hr_below_mixture(single, y, se, 1.3) == pytest.approx(below / z, abs=1e-9)
    mean, _ = integrate.quad(lambda t: t * dens(t), -5, 5)
    assert single.posterior(y, se).mean() == pytest.approx(mean / z, abs=1e-9)


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


def _brute_posterior(prior_pdf, k: int, n: int):
    """Posterior density by quadrature of prior x binomial likelihood (independent of the
    conjugate mixture update)."""
    like = lambda x: prior_pdf(x) * stats.binom.pmf(k, n, x)  # noqa: E731
    z, _ = integrate.quad(like, 0, 1, limit=200, epsabs=1e-13)
    return lambda x: like(x) / z


@pytest.mark.parametrize("margin", [-0.10, 0.0, 0.10])
def test_beta_mixture_difference_against_brute_force(margin):
    treatment = BetaMixture((0.5, 0.5), (2.0, 8.0), (8.0, 2.0))
    control = BetaMixture((0.8, 0.2), (12.0, 1.0), (38.0, 1.0))
    events, n = (13, 12), (33, 34)
    f_t = _brute_posterior(treatment.pdf, events[0], n[0])
    f_c = _brute_posterior(control.pdf, events[1], n[1])
    # P(X - Y > m) = integral f_X(x) P(Y < x - m) dx, with P(Y < y) by quadrature
    cdf_c = lambda y: integrate.quad(f_c, 0, y, limit=200)[0] if y > 0 else 0.0  # noqa: E731
    lo = max(0.0, margin)
    ref = integrate.quad(lambda x: f_t(x) * cdf_c(min(x - margin, 1.0)), lo, 1, limit=200)[0]
    got = prob_rate_diff_mixture(events, n, (treatment, control), margin, ">")
    assert got == pytest.approx(ref, abs=1e-6)
    assert prob_rate_diff_mixture(events, n, (treatment, control), margin, "<") == pytest.approx(
        1 - got, abs=1e-12
    )


def test_normal_mixture_hr_against_quadrature():
    prior = NormalMixture((0.3, 0.7), (0.0, np.log(1.3)), (0.1, 0.2))
    y, se = 0.285, 0.399
    dens = lambda t: prior.pdf(t) * stats.norm.pdf(y, t, se)  # noqa: E731
    z, _ = integrate.quad(dens, -5, 5, points=[0.0, 0.26])
    below, _ = integrate.quad(dens, -5, np.log(1.3), points=[0.0])
    assert prob_hr_below_mixture(prior, y, se, 1.3) == pytest.approx(below / z, abs=1e-9)
