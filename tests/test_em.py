"""The vectorised, accelerated EM recovers known two-component mixtures from scipy draws
(tolerances from the sample size); its Beta M-step is scipy's Beta maximum likelihood; the
panel quadrature of a normal mixture's ELIR agrees with adaptive quadrature."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from bayes_btc.priors.em import beta_ml
from bayes_btc.priors.mixture_fit import fit_beta_mixture, fit_normal_mixture
from bayes_btc.priors.mixtures import NormalMixture

N = 20_000
Z = 4.5  # tolerance in standard errors
INFLATE = 1.5  # component SEs of a two-component fit are somewhat above the known-label ones


def _labels(weights: list[float], seed: int) -> np.ndarray:
    return stats.bernoulli.rvs(weights[1], size=N, random_state=seed)


def _check(weights, means, sds, fit_w, fit_m, fit_s) -> None:
    w, m, s = (np.asarray(v, dtype=float) for v in (weights, means, sds))
    se_w = np.sqrt(w * (1 - w) / N)
    assert np.all(np.abs(np.asarray(fit_w) - w) < Z * INFLATE * se_w), (fit_w, w)
    assert np.all(np.abs(np.asarray(fit_m) - m) < Z * INFLATE * s / np.sqrt(N * w)), (fit_m, m)
    se_s = s / np.sqrt(2 * N * w)
    assert np.all(np.abs(np.asarray(fit_s) - s) < Z * INFLATE * se_s), (fit_s, s)


def test_em_recovers_a_two_component_beta_mixture():
    w, a, b = [0.6, 0.4], np.array([20.0, 30.0]), np.array([60.0, 10.0])
    k = _labels(w, seed=1)
    x = np.where(k == 0, stats.beta.rvs(a[0], b[0], size=N, random_state=2), 0.0)
    x = np.where(k == 1, stats.beta.rvs(a[1], b[1], size=N, random_state=3), x)
    fit = fit_beta_mixture(x, max_components=3)
    assert fit.n_components == 2
    fa, fb = np.asarray(fit.a), np.asarray(fit.b)
    mean, sd = a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    fit_sd = np.sqrt(fa * fb / ((fa + fb) ** 2 * (fa + fb + 1)))
    _check(w, mean, sd, fit.weights, fa / (fa + fb), fit_sd)


def test_em_recovers_a_two_component_normal_mixture():
    w, m, s = [0.3, 0.7], np.array([1.2, 1.9]), np.array([0.1, 0.3])
    k = _labels(w, seed=4)
    x = np.where(k == 0, stats.norm.rvs(m[0], s[0], size=N, random_state=5), 0.0)
    x = np.where(k == 1, stats.norm.rvs(m[1], s[1], size=N, random_state=6), x)
    fit = fit_normal_mixture(x, max_components=3)
    assert fit.n_components == 2
    _check(w, m, s, fit.weights, fit.means, fit.sds)


def test_em_reaches_the_maximum_likelihood_of_a_general_optimiser():
    """Overlapping components (a flat likelihood): EM's log-likelihood is within 1e-3 of what
    Nelder-Mead finds from the generating values."""
    x = stats.norm.rvs(0.0, 1.0, size=3000, random_state=7)
    x[:1000] = stats.norm.rvs(0.2, 0.4, size=1000, random_state=8)
    fit = fit_normal_mixture(x, max_components=2)

    def neg(u: np.ndarray) -> float:
        w = 1 / (1 + np.exp(-u[0]))
        dens = w * stats.norm.pdf(x, u[1], np.exp(u[2])) + (1 - w) * stats.norm.pdf(
            x, u[3], np.exp(u[4])
        )
        return -float(np.sum(np.log(dens)))

    start = np.array([np.log(0.5), 0.2, np.log(0.4), 0.0, 0.0])
    opts = {"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20_000, "maxfev": 20_000}
    ref = optimize.minimize(neg, start, method="Nelder-Mead", options=opts).fun
    assert fit.n_components == 2
    assert float(fit.logpdf(x).sum()) > -ref - 1e-3


@pytest.mark.parametrize(("a", "b"), [(2.0, 5.0), (0.7, 1.3), (40.0, 120.0)])
def test_beta_m_step_is_scipys_beta_maximum_likelihood(a: float, b: float):
    x = stats.beta.rvs(a, b, size=4000, random_state=9)
    ref_a, ref_b, _, _ = stats.beta.fit(x, floc=0, fscale=1)
    s1, s2 = np.array([np.log(x).mean()]), np.array([np.log1p(-x).mean()])
    got_a, got_b = beta_ml(s1, s2, np.array([1.0]), np.array([1.0]))
    assert got_a[0] == pytest.approx(ref_a, rel=1e-4)
    assert got_b[0] == pytest.approx(ref_b, rel=1e-4)


@pytest.mark.parametrize(
    "mix",
    [
        NormalMixture((0.4, 0.5, 0.1), (2.46, 2.49, 2.51), (0.044, 0.118, 0.32)),
        NormalMixture((0.8, 0.2), (1.8, 1.8), (0.05, 1.0)),
        NormalMixture((0.5, 0.5), (-3.0, 3.0), (0.2, 0.2)),
    ],
)
def test_normal_elir_by_panels_matches_adaptive_quadrature(mix: NormalMixture):
    """ELIR = E_p[((log p)')^2] (Fisher identity), by scipy's adaptive quad."""
    w, m, s = (np.asarray(v) for v in (mix.weights, mix.means, mix.sds))

    def score_sq(t: float) -> float:
        f = w * stats.norm.pdf(t, m, s)
        return float((f * -(t - m) / s**2).sum() ** 2 / f.sum())

    lo, hi = float(np.min(m - 12 * s)), float(np.max(m + 12 * s))
    ref = integrate.quad(score_sq, lo, hi, points=sorted(set(m)), limit=500, epsrel=1e-11)[0]
    assert mix.ess(1.0) == pytest.approx(ref, rel=1e-8)
