"""The closed-form PWE log posterior and its HMC sampler against independent references: the
PyMC model's own log density, finite differences, and quadrature of a small posterior written
out with scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bayes_btc.inference.hmc import hmc_sample, numpy_transition, whitened
from bayes_btc.inference.laplace import find_modes, refine
from bayes_btc.inference.mcmc_stats import ess_mean
from bayes_btc.models.pwe import PWEData, PWEPriors, build_pwe_model
from bayes_btc.models.pwe_data import PWETable
from bayes_btc.models.pwe_density import (
    gradient_hessian,
    log_density,
    pwe_cells,
    start_point,
    transition,
    value_and_gradient,
)
from bayes_btc.priors.mixtures import NormalMixture

PRIORS = {
    "vague": NormalMixture.single(0.0, 10.0),
    "mixture": NormalMixture((0.6, 0.4), (0.0, 0.4), (0.2, 0.5)),
    "historical": NormalMixture.single(0.0, 10.0),
}
MEDIAN = NormalMixture((0.8, 0.2), (math.log(6.0), math.log(6.0)), (0.15, 1.0))


def _data() -> PWEData:
    rng = np.random.default_rng(3)
    tables = []
    for k in (4, 6):
        cuts = np.arange(1, k) * 3.0
        events = rng.integers(1, 9, (2, k))
        exposure = rng.uniform(40, 120, (2, k))
        tables.append(PWETable(cuts, 3.0 * k + 5, events, exposure))
    return PWEData(["PFS", "OS"], tables)


def _medians(data: PWEData) -> dict:
    return {(e, p): (MEDIAN if p == "historical" else None) for e in data.endpoints for p in PRIORS}


def _point(model, data, variant, x):
    k, ne, npr = data.n_intervals, len(data.endpoints), len(PRIORS)
    pt = {"log_h0": x[:, :k].reshape(ne, npr, k)}
    if variant == "ph":
        pt["log_hr"] = x[:, k].reshape(ne, npr)
    else:
        pt["log_hr_interval"] = x[:, k:].reshape(ne, npr, k)
    return pt


@pytest.mark.parametrize("variant", ["ph", "nonph"])
def test_log_density_equals_the_pymc_model_up_to_a_constant(variant):
    data = _data()
    medians = _medians(data)
    cells = pwe_cells(data, PRIORS, variant, PWEPriors(), medians)
    logp = build_pwe_model(data, PRIORS, variant, PWEPriors(), medians).compile_logp()
    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(5):
        x = start_point(cells) + rng.normal(0, 0.4, (cells.n_cells, cells.dim))
        gaps.append(float(logp(_point(None, data, variant, x))) - log_density(cells, x).sum())
    assert np.ptp(gaps) < 1e-8, gaps
    value, _ = value_and_gradient(cells, x)
    np.testing.assert_allclose(value, log_density(cells, x), rtol=1e-12)


@pytest.mark.parametrize("variant", ["ph", "nonph"])
def test_gradient_equals_finite_differences(variant):
    data = _data()
    cells = pwe_cells(data, PRIORS, variant, PWEPriors(), _medians(data))
    x = start_point(cells) + np.random.default_rng(1).normal(0, 0.3, (cells.n_cells, cells.dim))
    _, grad = value_and_gradient(cells, x)
    g2, _ = gradient_hessian(cells, x)
    eps = 1e-6
    num = np.stack(
        [
            (log_density(cells, x + eps * e) - log_density(cells, x - eps * e)) / (2 * eps)
            for e in np.eye(cells.dim)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(grad, num, atol=1e-5)
    np.testing.assert_allclose(g2, num, atol=1e-5)


def test_hessian_is_exact_where_the_posterior_is_log_concave():
    data = _data()
    priors = {"vague": PRIORS["vague"]}
    cells = pwe_cells(data, priors, "nonph", PWEPriors())
    x = start_point(cells) + np.random.default_rng(2).normal(0, 0.3, (cells.n_cells, cells.dim))
    _, h = gradient_hessian(cells, x)
    eps = 1e-5
    num = np.stack(
        [
            (gradient_hessian(cells, x + eps * e)[0] - gradient_hessian(cells, x - eps * e)[0])
            / (2 * eps)
            for e in np.eye(cells.dim)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(h, num, atol=1e-4)
    lap = find_modes(
        lambda z: log_density(cells, z), lambda z: gradient_hessian(cells, z), start_point(cells)
    )
    g, _ = gradient_hessian(cells, lap.mode)
    assert np.abs(g).max() < 1e-5


def _grid_reference(d, e, prior_sd, median_prior):
    """P(HR < 1.3) and E[log-HR] of a one-interval PH model by quadrature on (a, b), written
    with scipy: Poisson counts, a ~ N(-2.5, 2.5), b ~ N(0, prior_sd), and optionally a
    normal-mixture prior on the control median log(log 2 / exp(a))."""
    a = np.linspace(-6, 1, 701)[:, None]
    b = np.linspace(-3, 3, 601)[None, :]
    lp = stats.poisson.logpmf(d[1], e[1] * np.exp(a)) + stats.poisson.logpmf(
        d[0], e[0] * np.exp(a + b)
    )
    lp = lp + stats.norm.logpdf(a, -2.5, 2.5) + stats.norm.logpdf(b, 0.0, prior_sd)
    if median_prior is not None:
        w, m, s = median_prior
        log_med = np.log(np.log(2.0) / np.exp(a))
        lp = lp + np.log(
            sum(wi * stats.norm.pdf(log_med, mi, si) for wi, mi, si in zip(w, m, s, strict=False))
        )
    p = np.exp(lp - lp.max())
    p /= p.sum()
    return float(p[:, (b < math.log(1.3))[0]].sum()), float((p * b).sum())


@pytest.mark.parametrize("variant", ["ph", "nonph"])
def test_compiled_transition_equals_numpy_steps_on_the_numpy_density(variant):
    """Successive HMC transitions of the parallel compiled loop against numpy leapfrog steps and
    Metropolis step on the numpy log density and gradient, with a median prior and a step
    count per cell; the same for 1 and 2 threads."""
    data = _data()
    cells = pwe_cells(data, PRIORS, variant, PWEPriors(), _medians(data))
    rng = np.random.default_rng(5)
    n_c, dim = cells.n_cells, cells.dim
    mode = start_point(cells)
    tril = np.tril(rng.normal(0, 0.05, (n_c, dim, dim))) + 0.3 * np.eye(dim)
    u = rng.normal(size=(3, n_c, dim))
    r = rng.normal(size=(4, 3, n_c, dim))  # 4 successive transitions
    eps = rng.uniform(0.05, 1.0, (4, 3, n_c))
    steps = rng.integers(2, 9, n_c)
    log_u = np.log(rng.random((4, 3, n_c)))

    def numpy_density(x):
        lp = np.stack([log_density(cells, xi) for xi in x])
        g = np.stack([gradient_hessian(cells, xi)[0] for xi in x])
        return lp, g

    lp, g = whitened(numpy_density, mode, tril, u)
    args = (u, lp, g, r, eps, steps, log_u, 1000.0, mode, tril)
    want = numpy_transition(numpy_density)(*args)
    moved = (want[5][0] != mode + (tril @ u[..., None])[..., 0]).any(-1)
    assert moved.any() and not moved.all()  # some moves accepted, some rejected
    one, two = (transition(cells, threads)(*args) for threads in (1, 2))
    for w, a, b in zip(want, one, two, strict=True):
        np.testing.assert_allclose(a, w, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("with_median", [False, True])
def test_hmc_matches_quadrature_of_a_small_posterior(with_median, compiled):
    d, e = np.array([[9], [14]]), np.array([[80.0], [75.0]])
    table = PWETable(np.array([]), 30.0, d, e)
    data = PWEData(["X"], [table])
    priors = {"p": NormalMixture.single(0.0, 1.0)}
    mix = ((0.7, 0.3), (math.log(3.0), math.log(5.0)), (0.2, 0.5))
    med = {("X", "p"): NormalMixture(*mix)} if with_median else None
    cells = pwe_cells(data, priors, "ph", PWEPriors(), med)
    lap = find_modes(
        lambda z: log_density(cells, z), lambda z: gradient_hessian(cells, z), start_point(cells)
    )
    lap = refine(lambda y, idx: log_density(cells.take(idx), y), lap, 11)
    steps = transition(cells) if compiled else None
    run = hmc_sample(lambda z: value_and_gradient(cells, z), lap, 4, 400, 3000, 11, steps)
    b = run.draws[:, :, 0, 1]  # (chain, draw)
    below = (b < math.log(1.3)).astype(float)
    p_ref, mean_ref = _grid_reference(d[:, 0], e[:, 0], 1.0, mix if with_median else None)
    se_p = math.sqrt(p_ref * (1 - p_ref) / ess_mean(below[None])[0])
    se_m = b.std() / math.sqrt(ess_mean(b[None])[0])
    assert abs(below.mean() - p_ref) < 4 * se_p, (below.mean(), p_ref, se_p)
    assert abs(b.mean() - mean_ref) < 4 * se_m, (b.mean(), mean_ref, se_m)
    assert run.divergent.sum() == 0
