"""EM mixture fits recover known mixtures from their draws, deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_btc.priors.mixture_fit import fit_beta_mixture, fit_normal_mixture, fit_quality
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture

TRUE_BETA = BetaMixture((0.7, 0.3), (20.0, 3.0), (60.0, 3.0))
TRUE_NORMAL = NormalMixture((0.6, 0.4), (0.1, -0.6), (0.2, 0.5))


def draw(mix: BetaMixture | NormalMixture, n: int, seed: int) -> np.ndarray:
    """n draws from `mix`: a component per draw by its weight, then a draw from it."""
    rng = np.random.default_rng(seed)
    k = rng.choice(mix.n_components, size=n, p=mix.weights)
    if isinstance(mix, BetaMixture):
        return rng.beta(np.take(mix.a, k), np.take(mix.b, k))
    return rng.normal(np.take(mix.means, k), np.take(mix.sds, k))


@pytest.fixture(scope="module")
def beta_draws() -> np.ndarray:
    return draw(TRUE_BETA, 20_000, seed=20240501)


@pytest.fixture(scope="module")
def beta_fit(beta_draws: np.ndarray) -> BetaMixture:
    return fit_beta_mixture(beta_draws)


def component_means(mix: BetaMixture) -> np.ndarray:
    a, b = np.asarray(mix.a), np.asarray(mix.b)
    return a / (a + b)


def test_beta_mixture_is_recovered(beta_fit: BetaMixture, beta_draws: np.ndarray):
    assert beta_fit.n_components == 2
    # components come sorted by mean: Beta(20, 60) (mean 0.25) first, Beta(3, 3) (0.5) second
    assert np.allclose(beta_fit.weights, TRUE_BETA.weights, atol=0.03)
    assert np.allclose(component_means(beta_fit), [0.25, 0.5], atol=0.01)
    grid = np.linspace(0.001, 0.999, 500)
    assert np.max(np.abs(beta_fit.cdf(grid) - TRUE_BETA.cdf(grid))) < 0.01
    q = fit_quality(beta_fit, beta_draws)
    assert q["ks"] < 0.01
    assert q["mean_mixture"] == pytest.approx(q["mean_draws"], abs=1e-3)
    assert q["sd_mixture"] == pytest.approx(q["sd_draws"], abs=2e-3)
    for level in ("2.5", "50", "97.5"):
        assert q[f"q{level}_mixture"] == pytest.approx(q[f"q{level}_draws"], abs=0.01)


def test_fit_quality_reports_every_statistic(beta_fit: BetaMixture, beta_draws: np.ndarray):
    q = fit_quality(beta_fit, beta_draws)
    stats = ("mean", "sd", "q2.5", "q50", "q97.5")
    assert set(q) == {"ks"} | {f"{s}_{src}" for s in stats for src in ("draws", "mixture")}
    assert all(isinstance(v, float) for v in q.values())
    assert fit_quality(BetaMixture.single(1, 1), beta_draws)["ks"] > 0.3  # a bad match shows


def test_one_beta_is_fitted_as_one_component():
    x = draw(BetaMixture.single(12.0, 38.0), 5_000, seed=7)
    fit = fit_beta_mixture(x)
    assert fit.n_components == 1 or max(fit.weights) > 0.95
    assert fit_quality(fit, x)["ks"] < 0.02
    assert fit.mean() == pytest.approx(0.24, abs=0.003)
    assert fit.ess() == pytest.approx(50, rel=0.05)


def test_normal_mixture_is_recovered():
    x = draw(TRUE_NORMAL, 20_000, seed=11)
    fit = fit_normal_mixture(x)
    assert fit.n_components == 2
    assert np.allclose(fit.weights, [0.4, 0.6], atol=0.03)  # sorted by mean: -0.6 first
    assert np.allclose(fit.means, [-0.6, 0.1], atol=0.03)
    assert np.allclose(fit.sds, [0.5, 0.2], atol=0.03)
    assert fit_quality(fit, x)["ks"] < 0.01


def test_one_normal_is_fitted_as_one_component():
    x = draw(NormalMixture.single(-0.3, 0.15), 5_000, seed=3)
    fit = fit_normal_mixture(x)
    assert fit.n_components == 1 or max(fit.weights) > 0.95
    assert fit.mean() == pytest.approx(-0.3, abs=0.01)
    assert fit.sd() == pytest.approx(0.15, abs=0.01)
    assert fit_quality(fit, x)["ks"] < 0.02


def test_fits_are_deterministic():
    xb = draw(TRUE_BETA, 2_000, seed=5)
    assert fit_beta_mixture(xb) == fit_beta_mixture(xb.copy())
    xn = draw(TRUE_NORMAL, 2_000, seed=5)
    assert fit_normal_mixture(xn) == fit_normal_mixture(xn.copy())


def test_max_components_caps_the_fit(beta_draws: np.ndarray):
    assert fit_beta_mixture(beta_draws[:2_000], max_components=1).n_components == 1
    assert fit_normal_mixture(np.log(beta_draws[:2_000]), max_components=1).n_components == 1


def test_rates_of_exactly_zero_or_one_are_clipped():
    x = draw(BetaMixture.single(2.0, 2.0), 200, seed=1)
    x[:2] = (0.0, 1.0)
    assert fit_beta_mixture(x, max_components=1).n_components == 1


@pytest.mark.parametrize(
    ("draws", "message"),
    [
        (np.full(49, 0.5), "at least 50"),
        (np.r_[np.full(60, 0.5), np.nan], "finite"),
        (np.r_[np.linspace(0.1, 0.9, 60), 1.2], r"\(0, 1\)"),
        (np.r_[np.linspace(0.1, 0.9, 60), -0.1], r"\(0, 1\)"),
    ],
)
def test_bad_beta_input(draws: np.ndarray, message: str):
    with pytest.raises(ValueError, match=message):
        fit_beta_mixture(draws)


def test_bad_normal_input():
    with pytest.raises(ValueError, match="finite"):
        fit_normal_mixture(np.r_[np.zeros(60), np.inf])
    with pytest.raises(ValueError, match="at least 50"):
        fit_normal_mixture(np.zeros(10))
    with pytest.raises(ValueError, match="max_components"):
        fit_normal_mixture(np.linspace(0, 1, 100), max_components=0)
