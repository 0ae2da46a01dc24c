"""Mixture priors against independent numerical references (quadrature, brute-force Bayes)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from bayes_btc.priors.mixtures import BetaMixture, NormalMixture, prob_normal_mixture_below

TIGHT = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 500}
BMIX = BetaMixture((0.6, 0.3, 0.1), (12.5, 3.0, 2.0), (40.0, 3.0, 8.0))
NMIX = NormalMixture((0.7, 0.3), (0.1, -0.4), (0.2, 0.8))


def quad(f, lo: float, hi: float, points: list[float] | None = None) -> float:
    return integrate.quad(f, lo, hi, points=points, **TIGHT)[0]


def beta_moment(mix: BetaMixture, power: int) -> float:
    return quad(lambda t: t**power * float(mix.pdf(t)), 0, 1, [0.1, 0.25, 0.5])


# --- Beta mixtures: density, moments, quantiles ---


def test_beta_pdf_integrates_to_one_and_cdf_is_its_integral():
    assert beta_moment(BMIX, 0) == pytest.approx(1, abs=1e-10)
    for x in (0.05, 0.2, 0.31, 0.5, 0.9):
        assert float(BMIX.cdf(x)) == pytest.approx(quad(BMIX.pdf, 0, x), abs=1e-10)
    assert np.allclose(BMIX.logpdf([0.2, 0.7]), np.log(BMIX.pdf([0.2, 0.7])))


def test_beta_moments_match_numerical_moments():
    m = beta_moment(BMIX, 1)
    assert BMIX.mean() == pytest.approx(m, abs=1e-10)
    assert BMIX.var() == pytest.approx(beta_moment(BMIX, 2) - m**2, abs=1e-10)
    assert BMIX.sd() == pytest.approx(math.sqrt(BMIX.var()))


def test_quantile_inverts_cdf_vectorised():
    q = np.array([[0.001, 0.025], [0.5, 0.975]])
    for mix in (BMIX, NMIX):
        x = mix.quantile(q)
        assert x.shape == q.shape
        assert np.allclose(mix.cdf(x), q, atol=1e-12)
    assert BMIX.quantile([0, 1]).tolist() == [0, 1]
    assert NMIX.quantile([0, 1]).tolist() == [-np.inf, np.inf]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BMIX.quantile(1.5)


# --- conjugate updates against brute-force numerical posteriors ---


@pytest.mark.parametrize(("events", "n"), [(0, 10), (13, 33), (30, 34)])
def test_beta_posterior_against_brute_force(events: int, n: int):
    post = BMIX.posterior(events, n)
    dens = lambda t: float(BMIX.pdf(t)) * stats.binom.pmf(events, n, t)  # noqa: E731
    pts = [0.05, 0.2, 0.4, 0.6, 0.8, 0.95]
    z = quad(dens, 0, 1, pts)
    for x in (0.1, 0.25, 0.4, 0.6, 0.85):
        ref = quad(dens, 0, x, [p for p in pts if p < x]) / z
        assert float(post.cdf(x)) == pytest.approx(ref, abs=1e-8)


def test_single_beta_posterior_is_the_conjugate_beta():
    post = BetaMixture.single(2.5, 7.0).posterior(13, 33)
    assert post == BetaMixture((1.0,), (15.5,), (27.0,))


def test_normal_posterior_against_brute_force():
    y, se = 0.5, 0.3
    post = NMIX.posterior(y, se)
    dens = lambda t: float(NMIX.pdf(t)) * stats.norm.pdf(y, t, se)  # noqa: E731
    z = quad(dens, -8, 8, [-0.4, 0.1, 0.5])
    for x in (-0.5, 0.0, 0.2, 0.4, 0.9):
        ref = quad(dens, -8, x, [p for p in (-0.4, 0.1, 0.5) if p < x]) / z
        assert float(post.cdf(x)) == pytest.approx(ref, abs=1e-9)
    single = NormalMixture.single(0.26, 0.16).posterior(0.285, 0.399)
    w0, w1 = 0.16**-2, 0.399**-2
    assert single.means[0] == pytest.approx((w0 * 0.26 + w1 * 0.285) / (w0 + w1), rel=1e-14)
    assert single.sds[0] == pytest.approx((w0 + w1) ** -0.5, rel=1e-14)


@settings(max_examples=25, deadline=None)
@given(
    k1=st.integers(0, 20),
    extra1=st.integers(0, 20),
    k2=st.integers(0, 20),
    extra2=st.integers(0, 20),
)
def test_sequential_updates_equal_one_pooled_update(k1: int, extra1: int, k2: int, extra2: int):
    twice = BMIX.posterior(k1, k1 + extra1).posterior(k2, k2 + extra2)
    once = BMIX.posterior(k1 + k2, k1 + k2 + extra1 + extra2)
    assert np.allclose(twice.weights, once.weights, rtol=1e-9, atol=1e-300)
    assert twice.a == once.a and twice.b == once.b


# --- effective sample size ---


def elir_literal(mix: BetaMixture) -> float:
    """E_p[i_p(t) t(1-t)] with i_p = -(log p)'' from p''/p - (p'/p)^2, straight from the
    definition (valid when every shape exceeds 1)."""
    w, a, b = (np.asarray(v) for v in (mix.weights, mix.a, mix.b))

    def integrand(t: float) -> float:
        f = w * stats.beta.pdf(t, a, b)
        g = (a - 1) / t - (b - 1) / (1 - t)
        p, d1 = f.sum(), (f * g).sum()
        d2 = (f * (g**2 - (a - 1) / t**2 - (b - 1) / (1 - t) ** 2)).sum()
        return -(d2 / p - (d1 / p) ** 2) * p * t * (1 - t)

    return quad(integrand, 0, 1, [0.1, 0.2, 0.3, 0.5, 0.7])


@pytest.mark.parametrize(("a", "b"), [(2, 3), (12.5, 40), (1.5, 6), (150, 350)])
def test_elir_of_one_beta_is_a_plus_b(a: float, b: float):
    mix = BetaMixture.single(a, b)
    assert mix.ess() == pytest.approx(a + b, rel=1e-6)
    assert mix.ess("moment") == pytest.approx(a + b, rel=1e-10)


@pytest.mark.parametrize(("a", "b"), [(1, 1), (1, 6), (4, 1)])
def test_elir_with_a_shape_of_one_is_the_literal_integral(a: float, b: float):
    """A shape of 1 adds no curvature on its side. By the Beta moments E[(1-t)/t] = b/(a-1)
    and E[t/(1-t)] = a/(b-1), ELIR = b [a > 1] + a [b > 1]: 0 for Beta(1, 1), 1 for
    Beta(1, 6), as RBesT's integral of the definition gives."""
    mix = BetaMixture.single(a, b)
    expected = (a if b > 1 else 0.0) + (b if a > 1 else 0.0)
    assert mix.ess() == pytest.approx(expected, abs=1e-8)
    assert mix.ess() == pytest.approx(elir_literal(mix), abs=1e-8)


def test_elir_of_a_mixture_equals_the_literal_definition():
    mix = BetaMixture((0.5, 0.3, 0.2), (12.5, 3.0, 2.0), (40.0, 3.0, 2.0))
    assert mix.ess() == pytest.approx(elir_literal(mix), rel=1e-7)


def test_elir_of_a_robust_mixture_is_the_literal_integral():
    """A Beta(1, 1) component (density 1 at both ends) is not 2w above the definition."""
    mix = BetaMixture((0.8, 0.2), (12.0, 1.0), (38.0, 1.0))
    assert mix.ess() == pytest.approx(elir_literal(mix), rel=1e-7)


def test_elir_of_mixtures_is_below_the_informative_component():
    informative = BetaMixture.single(12.5, 40)
    mix = BetaMixture((0.7, 0.3), (12.5, 2.0), (40.0, 2.0))
    assert mix.ess() < informative.ess()
    assert informative.robustify(0.2).ess() < informative.ess()
    assert mix.ess("moment") < informative.ess("moment")
    m, v = mix.mean(), mix.var()
    assert mix.ess("moment") == pytest.approx(m * (1 - m) / v - 1, rel=1e-12)
    with pytest.raises(ValueError, match="below 1"):
        BetaMixture.single(0.5, 0.5).ess()


@pytest.mark.parametrize(("sd", "sigma"), [(0.2, 1.0), (0.5, 2.0), (3.0, 1.0)])
def test_elir_of_one_normal(sd: float, sigma: float):
    assert NormalMixture.single(0.3, sd).ess(sigma) == pytest.approx(sigma**2 / sd**2, rel=1e-8)


def test_normal_mixture_elir_against_fisher_identity():
    """E_p[-(log p)''] = E_p[((log p)')^2] (integration by parts), an independent reference."""
    w, m, s = (np.asarray(v) for v in (NMIX.weights, NMIX.means, NMIX.sds))

    def score_sq(t: float) -> float:
        f = w * stats.norm.pdf(t, m, s)
        return float((f * -(t - m) / s**2).sum() ** 2 / f.sum())

    ref = 4.0 * quad(score_sq, -10, 10, [-0.4, 0.1])
    assert NMIX.ess(2.0) == pytest.approx(ref, rel=1e-7)
    assert NMIX.ess(1.0) < NormalMixture.single(0.1, 0.2).ess(1.0)


# --- padding, robustification, description, validation ---


@pytest.mark.parametrize("k", [3, 4, 7])
def test_padded_is_the_same_distribution(k: int):
    for mix, cls, grid in (
        (BMIX, BetaMixture, np.linspace(0.001, 0.999, 200)),
        (NMIX, NormalMixture, np.linspace(-3, 3, 200)),
    ):
        if k < mix.n_components:
            continue
        w, p1, p2 = mix.padded(k)
        assert len(w) == len(p1) == len(p2) == k and np.all(w > 0)
        assert w.sum() == pytest.approx(1, abs=1e-15)
        assert np.allclose(cls(tuple(w), tuple(p1), tuple(p2)).pdf(grid), mix.pdf(grid), rtol=1e-13)
    with pytest.raises(ValueError, match="pad"):
        BMIX.padded(2)


def test_robustify_weights_and_components():
    rob = BMIX.robustify(0.2)
    assert np.allclose(rob.weights, [0.48, 0.24, 0.08, 0.2], atol=1e-15)
    assert rob.a[-1] == rob.b[-1] == 1.0
    vague = NormalMixture.single(0.0, 2.0)
    nrob = NMIX.robustify(0.5, vague)
    assert np.allclose(nrob.weights, [0.35, 0.15, 0.5]) and nrob.sds[-1] == 2.0
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        BMIX.robustify(1.0)
    with pytest.raises(ValueError, match="NormalMixture"):
        NMIX.robustify(0.2, BetaMixture.single(1, 1))  # type: ignore[arg-type]


def test_describe():
    assert BetaMixture((0.8, 0.2), (12.1, 1), (38.2, 1)).describe() == (
        "0.8 x Beta(12.1, 38.2) + 0.2 x Beta(1, 1)"
    )
    assert BetaMixture.single(12.1234, 38.2).describe() == "Beta(12.1, 38.2)"
    assert NormalMixture((0.8, 0.2), (0.1, 0), (0.2, 1)).describe() == (
        "0.8 x N(0.1, 0.2) + 0.2 x N(0, 1)"
    )


def test_prob_normal_mixture_below_is_the_integral_of_the_pdf():
    for bound in (-1.0, 0.0, math.log(1.3)):
        ref = quad(NMIX.pdf, -12, bound, [-0.4, 0.1] if bound > 0.1 else None)
        assert prob_normal_mixture_below(NMIX, bound) == pytest.approx(ref, abs=1e-10)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: BetaMixture((0.5, 0.4), (1, 2), (1, 2)), "sum to 1"),
        (lambda: BetaMixture((1.0,), (-1.0,), (2.0,)), "a must be > 0"),
        (lambda: BetaMixture((1.2, -0.2), (1, 1), (1, 1)), "weights must be > 0"),
        (lambda: BetaMixture((0.5, 0.5), (1, 2), (1,)), "equal length"),
        (lambda: BetaMixture((), (), ()), "non-empty"),
        (lambda: NormalMixture((1.0,), (0.0,), (0.0,)), "sds must be > 0"),
        (lambda: NormalMixture((1.0,), (np.nan,), (1.0,)), "finite"),
    ],
)
def test_validation(build, message: str):
    with pytest.raises(ValueError, match=message):
        build()


def test_fields_are_normalised_float_tuples():
    mix = BetaMixture([0.5, 0.5000001], [1, 2], [3, 4])  # type: ignore[arg-type]
    assert isinstance(mix.a, tuple) and all(isinstance(v, float) for v in mix.a)
    assert sum(mix.weights) == 1.0 and mix.n_components == 2
    with pytest.raises(ValueError, match="0 <= events <= n"):
        mix.posterior(5, 3)
