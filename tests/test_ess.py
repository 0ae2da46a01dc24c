"""ESS by ELIR, moment and Morita against independent references: closed forms, quadrature of
the definitions, and the conjugate cases RBesT's own tests use (tests/testthat/test-utils.R:
ESS of Beta(a, b) is a + b by all three; of Normal(m, s) with sampling SD sigma, sigma^2/s^2)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from bayes_btc.priors.ess import ess_all, mixture_mode
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture

# RBesT's own example (inst/examples/ess.R): mixbeta(rob = c(0.2, 1, 1), inf = c(0.8, 10, 2))
ROBUST = BetaMixture((0.2, 0.8), (1.0, 10.0), (1.0, 2.0))


def literal_elir(w, a, b) -> float:
    """E_p[-(log p)''(t) t(1-t)] straight from the definition, p, p', p'' by hand."""
    w, a, b = (np.asarray(x, float) for x in (w, a, b))

    def f(t: float) -> float:
        dens = w * stats.beta.pdf(t, a, b)
        g = (a - 1) / t - (b - 1) / (1 - t)
        h = -(a - 1) / t**2 - (b - 1) / (1 - t) ** 2
        p, d1, d2 = dens.sum(), (dens * g).sum(), (dens * (h + g**2)).sum()
        return (d1**2 / p - d2) * t * (1 - t)

    return integrate.quad(f, 0, 1, points=[0.5, 0.8, 0.9, 0.95], epsabs=1e-12, limit=400)[0]


def literal_morita(w, a, b, s: float = 100.0) -> float:
    """Eq. 9 of Neuenschwander et al. (2019), RBesT's variant: at the mode, finite
    differences of the log density, the flattened Beta(t0/s, (1-t0)/s), one patient."""
    w, a, b = (np.asarray(x, float) for x in (w, a, b))
    logp = lambda t: np.log((w * stats.beta.pdf(t, a, b)).sum())  # noqa: E731
    t0 = optimize.minimize_scalar(
        lambda t: -logp(t), bounds=(0.5, 0.999), method="bounded", options={"xatol": 1e-12}
    ).x
    hstep = 1e-4
    info = -(logp(t0 + hstep) - 2 * logp(t0) + logp(t0 - hstep)) / hstep**2
    a0, b0 = t0 / s, (1 - t0) / s
    flat = (a0 - 1) / t0**2 + (b0 - 1) / (1 - t0) ** 2
    mean = (w * a / (a + b)).sum()
    e_info = (1 - mean) / (1 - t0) ** 2 + mean / t0**2
    return (info - flat) / e_info


def test_robust_beta_mixture_matches_the_definitions():
    """0.2 Beta(1, 1) + 0.8 Beta(10, 2): every method to 4 significant digits (and tighter)."""
    got = ess_all(ROBUST)
    w, a, b = ROBUST.weights, ROBUST.a, ROBUST.b
    assert got["elir"] == pytest.approx(literal_elir(w, a, b), rel=1e-7)
    # moment: a + b of the Beta with the mixture's mean and SD (RBesT's ms2beta)
    m = 0.2 * 0.5 + 0.8 * 10 / 12
    second = 0.2 * (1 / 3) + 0.8 * (10 * 11) / (12 * 13)
    v = second - m**2
    assert got["moment"] == pytest.approx(m * (1 - m) / v - 1, rel=1e-10)
    assert got["morita"] == pytest.approx(literal_morita(w, a, b), rel=1e-5)
    assert mixture_mode(ROBUST) == pytest.approx(0.9, abs=1e-7)  # Beta(10, 2)'s mode; flat part
    # the old integration-by-parts value ignored the density 0.2 at each end: 2 x 0.2 above
    assert round(got["elir"], 3) == pytest.approx(7.652, abs=5e-4)
    assert round(got["moment"], 3) == pytest.approx(3.161, abs=5e-4)
    assert round(got["morita"], 3) == pytest.approx(8.488, abs=5e-4)


@pytest.mark.parametrize(("a", "b"), [(5, 15), (2, 3), (30, 70)])
def test_conjugate_beta_is_a_plus_b_by_every_method(a: float, b: float):
    """RBesT: ess(prior) = a + b for elir and moment; round(ess(prior, 'morita')) = a + b."""
    got = ess_all(BetaMixture.single(a, b))
    assert got["elir"] == pytest.approx(a + b, rel=1e-7)
    assert got["moment"] == pytest.approx(a + b, rel=1e-10)
    assert round(got["morita"]) == a + b


def test_conjugate_normal_is_sigma_squared_over_variance():
    """RBesT: mixnorm(c(1, -1, 2), sigma = 4) has ESS 16/4 = 4 (Morita exactly with s = Inf)."""
    got = ess_all(NormalMixture.single(-1.0, 2.0), sigma=4.0)
    assert got["elir"] == pytest.approx(4.0, rel=1e-8)
    assert got["moment"] == pytest.approx(4.0, rel=1e-12)
    # s = 100: the flattened prior's information 1/(100 x 4) is subtracted: (1/4 - 1/400) x 16
    assert got["morita"] == pytest.approx((0.25 - 1 / 400) * 16, rel=1e-9)


def test_normal_mixture_against_quadrature_and_the_mode():
    nmix = NormalMixture((0.5, 0.5), (0.0, 3.0), (2.0, 4.0))  # RBesT's example, sigma = 10
    got = ess_all(nmix, sigma=10.0)

    def pdf(t: float) -> float:
        return 0.5 * stats.norm.pdf(t, 0, 2) + 0.5 * stats.norm.pdf(t, 3, 4)

    def dpdf(t: float) -> float:
        return -0.5 * stats.norm.pdf(t, 0, 2) * t / 4 - 0.5 * stats.norm.pdf(t, 3, 4) * (t - 3) / 16

    # E[-(log p)''] = E[((log p)')^2] for a density vanishing at +-inf (Fisher identity)
    fisher = integrate.quad(lambda t: dpdf(t) ** 2 / pdf(t), -40, 40, limit=400)[0]
    assert got["elir"] == pytest.approx(100 * fisher, rel=1e-7)
    assert got["moment"] == pytest.approx(100 / (0.5 * (4 + 16) + 0.5 * 9 - 1.5**2), rel=1e-10)
    t0 = optimize.minimize_scalar(
        lambda t: -pdf(t), bounds=(-3, 3), method="bounded", options={"xatol": 1e-12}
    ).x
    hstep = 1e-4
    info = -(np.log(pdf(t0 + hstep)) - 2 * np.log(pdf(t0)) + np.log(pdf(t0 - hstep))) / hstep**2
    assert got["morita"] == pytest.approx((info - 1 / (100 * 16)) * 100, rel=1e-5)


def test_undefined_elir_is_nan_and_normal_needs_sigma():
    assert np.isnan(ess_all(BetaMixture.single(0.5, 0.5))["elir"])
    with pytest.raises(ValueError, match="sigma"):
        ess_all(NormalMixture.single(0.0, 1.0))


# Reference values computed by RBesT's own R code: RBesT 1.9-0 (github.com/Novartis/RBesT,
# commit 30cf4cde1e2a744b3550d10b33b4e7bcd78e7b69), its R sources (mix*.R, mixess.R) under
# R 4.2.2, as `ess(mix, method = m)` for m in "elir", "moment", "morita" (default s = 100),
# printed with sprintf("%.10g"). Normal mixtures: mixnorm(..., sigma = sigma). Each tuple is
# (mixture, sigma, elir, moment, morita); components are (weight, a, b) or (weight, mean, sd).
RBEST_ESS = [
    # mixbeta(c(0.2, 1, 1), c(0.8, 10, 2))
    (BetaMixture((0.2, 0.8), (1.0, 10.0), (1.0, 2.0)), None, 7.651520185, 3.161033797, 8.487602719),
    # mixbeta(c(1, 5, 15))
    (BetaMixture.single(5, 15), None, 20.0, 20.0, 19.99081986),
    # mixbeta(c(0.6, 19, 29), c(0.3, 4, 5), c(0.1, 1, 1))
    (
        BetaMixture((0.6, 0.3, 0.1), (19.0, 4.0, 1.0), (29.0, 5.0, 1.0)),
        None,
        21.12925688,
        11.28609955,
        39.54513712,
    ),
    # mixbeta(c(0.5, 3, 7), c(0.3, 12, 4), c(0.2, 2, 2))
    (
        BetaMixture((0.5, 0.3, 0.2), (3.0, 12.0, 2.0), (7.0, 4.0, 2.0)),
        None,
        6.319233602,
        3.089503974,
        6.573500115,
    ),
    # robustify(mixbeta(c(1, 4, 16)), weight = 0.2, mean = 0.5) = 0.8 Beta(4, 16) + 0.2 Beta(1, 1)
    (BetaMixture((0.8, 0.2), (4.0, 1.0), (16.0, 1.0)), None, 12.69702108, 4.177344951, 15.38210289),
    # mixnorm(c(0.5, 0, 2), c(0.5, 3, 4), sigma = 10), then sigma 20
    (NormalMixture((0.5, 0.5), (0.0, 3.0), (2.0, 4.0)), 10.0, 10.82796316, 8.163265306, 18.4181396),
    (
        NormalMixture((0.5, 0.5), (0.0, 3.0), (2.0, 4.0)),
        20.0,
        43.31185264,
        32.65306122,
        73.67255842,
    ),
    # mixnorm(c(1, -1, 2), sigma = 4)
    (NormalMixture.single(-1.0, 2.0), 4.0, 3.999999998, 4.0, 3.96),
    # mixnorm(c(0.7, 0, 0.3), c(0.3, 0.2, 2), sigma = 2)
    (NormalMixture((0.7, 0.3), (0.0, 0.2), (0.3, 2.0)), 2.0, 23.90908297, 3.146138115, 41.82191037),
    # mixnorm(c(0.5, 0, 0.5), c(0.3, -0.3, 1), c(0.2, 0, 4), sigma = 2)
    (
        NormalMixture((0.5, 0.3, 0.2), (0.0, -0.3, 0.0), (0.5, 1.0, 4.0)),
        2.0,
        6.108975996,
        1.097724965,
        12.73385503,
    ),
]


@pytest.mark.parametrize("case", RBEST_ESS, ids=[f"mix{i}" for i in range(len(RBEST_ESS))])
def test_matches_rbest_ess_to_four_significant_digits(case):
    """ELIR, moment and Morita equal RBesT's ess() to 4 significant digits (rel. 5e-5; the
    observed agreement is ~1e-6, the residual from locating the mode numerically)."""
    mix, sigma, *ref = case
    got = ess_all(mix, sigma=sigma) if sigma is not None else ess_all(mix)
    for method, value in zip(("elir", "moment", "morita"), ref, strict=True):
        assert got[method] == pytest.approx(value, rel=5e-5), method
