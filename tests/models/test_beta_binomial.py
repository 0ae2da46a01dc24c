from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from bayes_btc.inference.sampling import sample_model
from bayes_btc.inputs.plan import Sampler
from bayes_btc.models.beta_binomial import BinaryData, RatePriors, build_beta_binomial_model
from bayes_btc.priors.mixtures import BetaMixture

PRIORS = {"vague": (1.0, 1.0), "jeffreys": (0.5, 0.5), "informative": (20.0, 30.0)}
COUNTS = {"ORR": {"TP": (13, 33), "GP": (12, 34)}, "AE_x": {"TP": (0, 33), "GP": (26, 34)}}
SAME = RatePriors.same(list(COUNTS), {k: BetaMixture.single(a, b) for k, (a, b) in PRIORS.items()})
# a historical-style prior: uniform on the treatment arm, a two-component mixture on control
MIX = BetaMixture((0.6, 0.4), (9.0, 2.0), (30.0, 2.0))


@pytest.fixture(scope="module")
def data():
    return BinaryData.from_counts(COUNTS, ("TP", "GP"))


def test_structure_and_finite_density(data):
    model = build_beta_binomial_model(data, SAME)
    assert model["rate"].eval().shape == (2, 2, 3)
    assert model["rate_diff"].eval().shape == (2, 3)
    point = model.initial_point()
    assert np.isfinite(model.compile_logp()(point))


def _p_diff_below(post_t, post_c, margin):
    """P(X - Y < margin) = integral of f_Y(y) * F_X(y + margin) dy (independent reference)."""
    val, _ = integrate.quad(lambda y: post_c.pdf(y) * post_t.cdf(y + margin), 0, 1, limit=200)
    return val


def test_sampled_posteriors_match_the_beta_closed_form(data):
    model = build_beta_binomial_model(data, SAME)
    tree = sample_model(model, Sampler(chains=4, cores=2, tune=500, draws=2500, seed=11), "t")
    post = tree["posterior"].to_dataset()
    for e, arms in COUNTS.items():
        for p, (a, b) in PRIORS.items():
            beta = {arm: stats.beta(a + k, b + n - k) for arm, (k, n) in arms.items()}
            for arm, dist in beta.items():
                draws = post["rate"].sel(endpoint=e, arm=arm, prior=p).values
                assert abs(draws.mean() - dist.mean()) < 5 * dist.std() / math.sqrt(draws.size)
            diff = post["rate_diff"].sel(endpoint=e, prior=p).values
            ref = _p_diff_below(beta["TP"], beta["GP"], 0.10)
            est = float((diff < 0.10).mean())
            mcse = math.sqrt(max(ref * (1 - ref), 1e-4) / diff.size)
            assert abs(est - ref) < 5 * mcse, (e, p, est, ref)


def _numerical_posterior(prior_pdf, k: int, n: int):
    """Posterior density on (0, 1) by quadrature of prior x binomial likelihood (reference)."""
    z, _ = integrate.quad(lambda x: prior_pdf(x) * stats.binom.pmf(k, n, x), 0, 1, limit=200)
    return lambda x: prior_pdf(x) * stats.binom.pmf(k, n, x) / z


def test_mixture_prior_on_one_arm_matches_numerical_posterior(data):
    """Mixture prior on the control arm only, and a placeholder cell that does not apply."""
    uniform = BetaMixture.single(1.0, 1.0)
    cells = {("ORR", 0, "mix"): uniform, ("ORR", 1, "mix"): MIX}
    cells |= {("AE_x", 0, "mix"): None, ("AE_x", 1, "mix"): None}
    model = build_beta_binomial_model(data, RatePriors(["mix"], cells))
    tree = sample_model(model, Sampler(chains=4, cores=2, tune=500, draws=2500, seed=3), "t")
    applies = tree["constant_data"]["prior_applies"].values
    assert applies.tolist() == [[1], [0]]
    post = tree["posterior"].to_dataset()
    (k_t, n_t), (k_c, n_c) = COUNTS["ORR"]["TP"], COUNTS["ORR"]["GP"]
    f_c = _numerical_posterior(MIX.pdf, k_c, n_c)
    f_t = stats.beta(1 + k_t, 1 + n_t - k_t)
    mean_c, _ = integrate.quad(lambda x: x * f_c(x), 0, 1)
    var_c = integrate.quad(lambda x: (x - mean_c) ** 2 * f_c(x), 0, 1)[0]
    draws = post["rate"].sel(endpoint="ORR", arm="GP", prior="mix").values
    assert abs(draws.mean() - mean_c) < 5 * math.sqrt(var_c / draws.size)
    # P(rate_T - rate_C > -0.10) = integral f_C(y) * P(X > y - 0.10) dy
    ref, _ = integrate.quad(lambda y: f_c(y) * f_t.sf(y - 0.10), 0, 1, limit=200)
    est = float((post["rate_diff"].sel(endpoint="ORR", prior="mix").values > -0.10).mean())
    assert abs(est - ref) < 5 * math.sqrt(ref * (1 - ref) / draws.size), (est, ref)
