from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from bayes_btc.inference.sampling import sample_model
from bayes_btc.inputs.plan import Sampler
from bayes_btc.models.loghr_summary import READINGS, LogHRData, build_loghr_model
from bayes_btc.priors.mixtures import NormalMixture

PRIORS = {"vague": (0.0, 10.0), "skeptical": (math.log(1.3), 0.1595), "tight": (-0.5, 0.05)}
SINGLE = {k: NormalMixture.single(m, s) for k, (m, s) in PRIORS.items()}


@pytest.fixture(scope="module")
def data(spec):
    return LogHRData.from_trial(spec, ["PFS", "OS"])


def test_data_from_the_published_ci(data):
    # SE = (log 2.91 - log 0.61) / (2 * 1.96)
    assert data.se[0] == pytest.approx((math.log(2.91) - math.log(0.61)) / (2 * 1.959964), 1e-6)
    assert data.log_hr[0].tolist() == pytest.approx([math.log(1.33), -math.log(1.33)])


def test_structure_and_finite_density(data):
    model = build_loghr_model(data, SINGLE)
    assert model["log_hr"].eval().shape == (2, len(READINGS), 3)
    point = model.initial_point()
    assert np.isfinite(model.compile_logp()(point))
    assert np.all(np.isfinite(model.compile_dlogp()(point)))


def test_sampled_probabilities_match_the_normal_closed_form(data):
    model = build_loghr_model(data, SINGLE)
    tree = sample_model(model, Sampler(chains=4, cores=2, tune=500, draws=2500, seed=7), "t")
    post = tree["posterior"].to_dataset()
    for i, e in enumerate(data.endpoints):
        for j, r in enumerate(READINGS):
            for p, (m0, s0) in PRIORS.items():
                prec = 1 / s0**2 + 1 / data.se[i] ** 2
                mean = (m0 / s0**2 + data.log_hr[i, j] / data.se[i] ** 2) / prec
                ref = stats.norm.cdf(math.log(1.3), mean, prec**-0.5)
                hr = post["hr"].sel(endpoint=e, reading=r, prior=p).values
                est = float((hr < 1.3).mean())
                mcse = math.sqrt(max(ref * (1 - ref), 1e-4) / hr.size)  # ESS >= N here
                assert abs(est - ref) < 5 * mcse, (e, r, p, est, ref)


def test_normal_mixture_prior_matches_numerical_posterior(data):
    """A two-component prior (sceptical and enthusiastic in one) against quadrature."""
    mix = NormalMixture((0.5, 0.5), (math.log(1.3), 0.0), (0.16, 0.16))
    model = build_loghr_model(data, {"mix": mix, "vague": NormalMixture.single(0.0, 10.0)})
    tree = sample_model(model, Sampler(chains=4, cores=2, tune=500, draws=2500, seed=9), "t")
    post = tree["posterior"].to_dataset()
    y, se = data.log_hr[0, 0], data.se[0]

    def unnorm(x):
        prior = 0.5 * stats.norm.pdf(x, math.log(1.3), 0.16) + 0.5 * stats.norm.pdf(x, 0, 0.16)
        return prior * stats.norm.pdf(y, x, se)

    z, _ = integrate.quad(unnorm, -5, 5, points=[0.0, y], limit=200)
    ref = integrate.quad(unnorm, -5, math.log(1.3), points=[0.0], limit=200)[0] / z
    hr = post["hr"].sel(endpoint=data.endpoints[0], reading="as_printed", prior="mix").values
    est = float((hr < 1.3).mean())
    assert abs(est - ref) < 5 * math.sqrt(ref * (1 - ref) / hr.size), (est, ref)
