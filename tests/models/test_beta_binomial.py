from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from bayes_btc.fit import sample_model
from bayes_btc.models.beta_binomial import BinaryData, build_beta_binomial_model
from bayes_btc.plan import Sampler

PRIORS = {"vague": (1.0, 1.0), "jeffreys": (0.5, 0.5), "informative": (20.0, 30.0)}
COUNTS = {"ORR": {"TP": (13, 33), "GP": (12, 34)}, "AE_x": {"TP": (0, 33), "GP": (26, 34)}}


@pytest.fixture(scope="module")
def data():
    return BinaryData.from_counts(COUNTS, ("TP", "GP"))


def test_structure_and_finite_density(data):
    model = build_beta_binomial_model(data, PRIORS)
    assert model["rate"].eval().shape == (2, 2, 3)
    assert model["rate_diff"].eval().shape == (2, 3)
    point = model.initial_point()
    assert np.isfinite(model.compile_logp()(point))


def _p_diff_below(post_t, post_c, margin):
    """P(X - Y < margin) = integral of f_Y(y) * F_X(y + margin) dy (independent reference)."""
    val, _ = integrate.quad(lambda y: post_c.pdf(y) * post_t.cdf(y + margin), 0, 1, limit=200)
    return val


def test_sampled_posteriors_match_the_beta_closed_form(data):
    model = build_beta_binomial_model(data, PRIORS)
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
