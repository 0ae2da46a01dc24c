"""Exact MAP draws by quadrature, against independent references: scipy's adaptive quadrature,
a dense brute-force grid written here, and the NUTS run of the PyMC model."""

from __future__ import annotations

import math

import arviz as az
import numpy as np
import pydantic
import pytest
from scipy import integrate, stats
from scipy.special import expit, log_expit

from bayes_btc.inference.map_exact import (
    log_median_draws,
    rate_draws,
    sample_map,
    trial_log_lik,
)
from bayes_btc.inputs.historical import binomial_series, load_historical, log_median_series
from bayes_btc.inputs.plan import HistoricalSettings, Sampler
from bayes_btc.models.map_meta import MetaData, build_map_model

N = 40_000


def _close(draws: np.ndarray, mean: float, k: float = 4.5) -> None:
    """The draws' mean within k Monte Carlo SEs (independent draws) of the reference."""
    assert abs(draws.mean() - mean) < k * draws.std() / math.sqrt(len(draws))


def _cdf_close(draws: np.ndarray, x: float, p: float, k: float = 4.5) -> None:
    """The share of draws <= x within k binomial MCSEs of the reference CDF value p."""
    assert abs((draws <= x).mean() - p) < k * math.sqrt(p * (1 - p) / len(draws)) + 1e-4


@pytest.mark.parametrize(
    ("k", "n", "mu", "tau"),
    [(12, 40, -1.0, 1e-4), (12, 40, 0.3, 0.5), (0, 25, -2.0, 1.5), (30, 30, 4.0, 6.0),
     (3, 500, -3.0, 2.0)],
)  # fmt: skip
def test_trial_likelihood_matches_scipy_quadrature(k, n, mu, tau):
    def f(theta: float) -> float:
        return stats.binom.pmf(k, n, expit(theta)) * stats.norm.pdf(theta, mu, tau)

    ref, _ = integrate.quad(f, mu - 12 * tau, mu + 12 * tau, points=[mu], limit=400, epsabs=0)
    got = trial_log_lik(np.array([k], float), np.array([n], float), np.array([mu]), np.array([tau]))
    assert float(got[0, 0]) == pytest.approx(math.log(ref), abs=1e-7)


def test_log_median_predictive_matches_numerical_integration():
    y, se, scale, prior = [1.6, 2.3], [0.15, 0.2], 0.5, (2.0, 2.0)

    def npdf(x: float, m: float, s: float) -> float:
        return math.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))

    def post(mu: float, tau: float) -> float:
        lik = math.prod(npdf(yi, mu, math.hypot(si, tau)) for yi, si in zip(y, se, strict=True))
        return lik * npdf(mu, *prior) * 2 * npdf(tau, 0.0, scale)

    def moment(g) -> float:
        return integrate.dblquad(lambda mu, tau: g(mu, tau) * post(mu, tau), 0, 6 * scale,
                                 -2, 6, epsabs=1e-10)[0]  # fmt: skip

    z = moment(lambda mu, tau: 1.0)
    mean = moment(lambda mu, tau: mu) / z
    second = moment(lambda mu, tau: mu**2 + tau**2) / z  # E[new^2]
    tau_mean = moment(lambda mu, tau: tau) / z
    d = log_median_draws(np.array(y), np.array(se), scale, N, np.random.default_rng(1), prior)
    _close(d["new"], mean)
    _close(d["tau"], tau_mean)
    sd = math.sqrt(second - mean**2)
    assert d["new"].std() == pytest.approx(sd, rel=0.02)
    for x in np.quantile(d["new"], [0.025, 0.5, 0.975]):  # the predictive CDF at its quantiles
        p = moment(lambda mu, tau, x=x: stats.norm.cdf((x - mu) / max(tau, 1e-12))) / z
        _cdf_close(d["new"], x, p)


def _brute_force(k: np.ndarray, n: np.ndarray, scale: float, mu_lim, tau_max: float):
    """Posterior expectations by a dense grid: (mu, tau) cells, each trial's effect summed
    over a fine grid of its standard-normal deviate; no Gauss-Hermite, no zooming."""
    mu = np.linspace(*mu_lim, 121)
    tau = np.linspace(tau_max / 200, tau_max, 120)
    z = np.linspace(-8, 8, 1601)
    phi = stats.norm.pdf(z)
    like = np.empty((mu.size, tau.size))
    for j, t in enumerate(tau):
        theta = mu[:, None] + t * z[None]  # (mu, z)
        lj = np.ones(mu.size)
        for ki, ni in zip(k, n, strict=True):
            pmf = np.exp(ki * log_expit(theta) + (ni - ki) * log_expit(-theta))
            lj *= integrate.trapezoid(pmf * phi, z, axis=1)
        like[:, j] = lj
    w = like * stats.norm.pdf(mu, 0, 2)[:, None] * stats.halfnorm.pdf(tau, scale=scale)[None]
    w = w / w.sum()
    zn, zw = np.polynomial.hermite_e.hermegauss(60)
    zw = zw / zw.sum()
    new = expit(mu[:, None, None] + tau[None, :, None] * zn)  # (mu, tau, node)
    logit = np.log

    def cdf(x: float) -> float:
        c = stats.norm.cdf((logit(x / (1 - x)) - mu[:, None]) / tau[None])
        return float((w * c).sum())

    return {
        "mu": float((w.sum(1) * mu).sum()),
        "tau": float((w.sum(0) * tau).sum()),
        "new": float((w * (new * zw).sum(-1)).sum()),
        "cdf": cdf,
    }


@pytest.mark.parametrize(
    ("k", "n", "scale", "mu_lim", "tau_max"),
    [
        ([20, 35], [80, 100], 0.5, (-4.0, 2.5), 2.5),  # similar trials: tau near 0
        ([2, 40, 0], [50, 60, 30], 1.0, (-7.0, 4.0), 6.0),  # heterogeneous, a trial with 0 events
    ],
)
def test_rate_posterior_matches_a_dense_grid(k, n, scale, mu_lim, tau_max):
    k, n = np.array(k, float), np.array(n, float)
    ref = _brute_force(k, n, scale, mu_lim, tau_max)
    d = rate_draws(k, n, scale, N, np.random.default_rng(2))
    for q in ("mu", "tau", "new"):
        _close(d[q], ref[q])
    for x in np.quantile(d["new"], [0.05, 0.5, 0.95]):
        _cdf_close(d["new"], x, ref["cdf"](x))


def test_the_plan_chooses_exact_draws_by_default():
    assert HistoricalSettings().sampler == "exact"
    assert HistoricalSettings(sampler="nuts").sampler == "nuts"
    with pytest.raises(pydantic.ValidationError):
        HistoricalSettings(sampler="mcmc")


@pytest.mark.slow
def test_exact_draws_agree_with_nuts_on_the_bundled_data():
    data, _ = load_historical("bundled")
    meta = MetaData(
        [s for e in ("ORR",) if (s := binomial_series(data, e)) is not None],
        [s for e in ("PFS", "OS") if (s := log_median_series(data, e)) is not None],
    )
    model = build_map_model(meta)
    settings = HistoricalSettings(draws=5000)
    run = Sampler(chains=4, cores=2, tune=1000, draws=1000, seed=5, target_accept=0.99)
    nuts_tree = sample_map(model, meta, HistoricalSettings(sampler="nuts"), run)
    assert nuts_tree["posterior"].attrs["compile_seconds"] > 0  # NUTS, when the plan says so
    nuts = nuts_tree["posterior"]
    exact_tree = sample_map(model, meta, settings, run.model_copy(update={"draws": 5000}))
    exact = exact_tree["posterior"]
    assert not exact_tree["sample_stats"]["diverging"].values.any()
    for name in nuts.data_vars:
        if name.endswith("_z"):  # per-trial effects: not drawn by the exact sampler
            continue
        assert exact[name].dims[2:] == nuts[name].dims[2:]
        assert exact[name].sizes["chain"] == 4 and exact[name].sizes["draw"] == 5000
        for c in nuts[name].coords[nuts[name].dims[2]].values:
            a = nuts[name].sel({nuts[name].dims[2]: c})
            b = exact[name].sel({exact[name].dims[2]: c}).values.ravel()
            se = math.hypot(float(az.mcse(a)), b.std() / math.sqrt(b.size))
            assert abs(float(a.mean()) - b.mean()) < 4.5 * se, (name, c)
