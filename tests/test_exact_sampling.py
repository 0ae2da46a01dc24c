"""Exact conjugate draws against closed forms computed here with scipy (not the package)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from bayes_btc.inference.exact_sampling import sample_exact
from bayes_btc.inputs.plan import Sampler
from bayes_btc.models.beta_binomial import (
    BinaryData,
    RatePriors,
    build_beta_binomial_model,
    fits_from_beta_binomial,
)
from bayes_btc.models.loghr_summary import LogHRData, build_loghr_model, fits_from_loghr
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture

SAMPLER = Sampler(chains=4, seed=7, mcse_target=0.004)  # 15,625 draws


def test_draw_count_follows_mcse_target() -> None:
    assert Sampler(mcse_target=0.002).exact_draws == 62500
    assert SAMPLER.exact_draws == 15625


def test_normal_mixture_draws_match_closed_form() -> None:
    prior = NormalMixture((0.7, 0.3), (0.0, 0.5), (0.2, 2.0))
    y, se = 0.3, 0.25
    data = LogHRData(["PFS"], np.array([[y, -y]]), np.array([se]))
    tree = sample_exact(build_loghr_model(data, {"mix": prior}), SAMPLER, "loghr_summary")
    fits = fits_from_loghr(tree)
    assert len(fits) == 2 and fits[0].draws["log_hr"].shape == (4, 3907)  # ceil(15625 / 4)
    x = np.asarray(fits[0].draws["log_hr"]).ravel()

    # reference: unnormalised posterior by quadrature
    def post(t: float) -> float:
        prior = 0.7 * stats.norm.pdf(t, 0, 0.2) + 0.3 * stats.norm.pdf(t, 0.5, 2.0)
        return prior * stats.norm.pdf(y, t, se)

    z = integrate.quad(post, -10, 10, points=[0, 0.3])[0]
    p_ref = integrate.quad(post, -10, np.log(1.3), points=[0])[0] / z
    mean_ref = integrate.quad(lambda t: t * post(t), -10, 10, points=[0, 0.3])[0] / z
    p = np.mean(x < np.log(1.3))
    assert abs(p - p_ref) < 4 * np.sqrt(p_ref * (1 - p_ref) / x.size)
    assert abs(x.mean() - mean_ref) < 4 * x.std() / np.sqrt(x.size)
    assert np.allclose(np.asarray(fits[0].draws["hr"]), np.exp(fits[0].draws["log_hr"]))


def test_beta_mixture_draws_match_closed_form() -> None:
    mix = BetaMixture((0.6, 0.4), (10.0, 1.0), (30.0, 1.0))
    flat = BetaMixture.single(1.0, 1.0)
    data = BinaryData(["ORR"], ("T", "C"), np.array([[12, 8]]), np.array([[40, 41]]))
    priors = RatePriors(["hist"], {("ORR", 0, "hist"): flat, ("ORR", 1, "hist"): mix})
    tree = sample_exact(build_beta_binomial_model(data, priors), SAMPLER, "beta_binomial")
    (fit,) = fits_from_beta_binomial(tree)
    rc = np.asarray(fit.draws["rate_C"]).ravel()

    # reference posterior of the control rate: prior x binomial likelihood by quadrature
    def post(t: float) -> float:
        prior = 0.6 * stats.beta.pdf(t, 10, 30) + 0.4 * stats.beta.pdf(t, 1, 1)
        return prior * stats.binom.pmf(8, 41, t)

    z = integrate.quad(post, 0, 1)[0]
    mean_ref = integrate.quad(lambda t: t * post(t), 0, 1)[0] / z
    p_ref = integrate.quad(post, 0, 0.2)[0] / z
    assert abs(rc.mean() - mean_ref) < 4 * rc.std() / np.sqrt(rc.size)
    assert abs(np.mean(rc < 0.2) - p_ref) < 4 * np.sqrt(p_ref * (1 - p_ref) / rc.size)
    rt = np.asarray(fit.draws["rate_T"]).ravel()  # Beta(13, 29) exactly
    assert stats.kstest(rt, stats.beta(13, 29).cdf).pvalue > 1e-3
    diff = np.asarray(fit.draws["rate_diff"]).ravel()
    assert np.allclose(diff, rt - rc)


@pytest.mark.parametrize("seed", [1, 2])
def test_exact_draws_are_reproducible(seed: int) -> None:
    data = LogHRData(["OS"], np.array([[0.1, -0.1]]), np.array([0.2]))
    s = SAMPLER.model_copy(update={"seed": seed})
    model = build_loghr_model(data, {"v": NormalMixture.single(0.0, 10.0)})
    a = sample_exact(model, s, "loghr_summary")["posterior"]["log_hr"].values
    b = sample_exact(model, s, "loghr_summary")["posterior"]["log_hr"].values
    assert np.array_equal(a, b)
