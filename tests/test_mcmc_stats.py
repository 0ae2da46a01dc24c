"""Vectorised r_hat / ESS / probability MCSE against ArviZ (the reference implementation)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import xarray as xr

from bayes_btc.inference.mcmc_stats import (
    ess_bulk,
    ess_mean,
    ess_tail,
    indicator_mcse,
    mcse_mean,
    rhat,
    rhat_ess_bulk,
)


def ar1(rng: np.random.Generator, chains: int, draws: int, phi: float) -> np.ndarray:
    x = np.zeros((chains, draws))
    e = rng.standard_normal((chains, draws))
    for t in range(draws):
        x[:, t] = (phi * x[:, t - 1] if t else 0.0) + e[:, t]
    return x + rng.normal(0, 0.3, (chains, 1))  # some between-chain differences


def reference(x: np.ndarray) -> list[float]:
    da = xr.DataArray(x, dims=("chain", "draw"))
    r = float(az.rhat(da)) if x.shape[0] > 1 else np.nan
    tail, mean = az.ess(da, method="tail"), az.ess(da, method="mean")
    return [r, float(az.ess(da)), float(tail), float(mean)]


@pytest.mark.parametrize("seed", range(4))
def test_matches_arviz_on_random_draws(seed: int) -> None:
    rng = np.random.default_rng(seed)
    chains, draws = int(rng.integers(1, 5)), int(rng.integers(8, 300))
    cells = [ar1(rng, chains, draws, float(phi)) for phi in rng.uniform(-0.5, 0.97, 6)]
    cells.append((rng.random((chains, draws)) < 0.07).astype(float))  # a rare 0/1 event
    cells.append(np.full((chains, draws), 2.5))  # constant
    x = np.stack(cells)
    with np.errstate(invalid="ignore"):
        got = np.stack([rhat(x), ess_bulk(x), ess_tail(x), ess_mean(x)], axis=1)
    ref = np.array([reference(c) for c in cells])
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-8, equal_nan=True)
    with np.errstate(invalid="ignore"):
        both = np.stack(rhat_ess_bulk(x), axis=1)
    np.testing.assert_allclose(both, ref[:, :2], rtol=1e-8, atol=1e-8, equal_nan=True)


def test_matches_arviz_on_real_posterior_draws() -> None:
    """Draws of a real NUTS fit (PyMC's radon-like eight schools centred model)."""
    import pymc as pm

    y = np.array([28.0, 8, -3, 7, -1, 1, 18, 12])
    sigma = np.array([15.0, 10, 16, 11, 9, 11, 10, 18])
    with pm.Model():
        mu = pm.Normal("mu", 0, 5)
        tau = pm.HalfCauchy("tau", 5)
        theta = pm.Normal("theta", mu, tau, shape=8)
        pm.Normal("y", theta, sigma, observed=y)
        idata = pm.sample(
            300,
            tune=300,
            chains=2,
            cores=1,
            random_seed=3,
            progressbar=False,
            compute_convergence_checks=False,
        )
    post = idata.posterior
    cells = [post["mu"].values, post["tau"].values, *post["theta"].values.transpose(2, 0, 1)]
    x = np.stack(cells)
    got = np.stack([rhat(x), ess_bulk(x), ess_tail(x)], axis=1)
    ref = np.array([reference(c)[:3] for c in cells])
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-8)


def test_indicator_mcse_of_independent_draws() -> None:
    """Independent draws: MCSE close to the binomial sqrt(p(1 - p) / N)."""
    rng = np.random.default_rng(5)
    ind = (rng.random((1, 4, 5000)) < 0.3).astype(float)
    se = indicator_mcse(ind, np.array([0.3]))[0]
    assert abs(se / np.sqrt(0.21 / 20000) - 1) < 0.05


def test_mcse_mean_matches_arviz() -> None:
    rng = np.random.default_rng(9)
    cells = [ar1(rng, 4, 200, phi) for phi in (0.0, 0.5, 0.9)]
    ref = [float(az.mcse(xr.DataArray(c, dims=("chain", "draw")))) for c in cells]
    np.testing.assert_allclose(mcse_mean(np.stack(cells)), ref, rtol=1e-8)


def test_mcse_mean_of_pooled_runs_combines_each_runs_arviz_mcse() -> None:
    """Three runs on different data (different means) pooled along the draws: the MCSE of the
    pooled mean is sqrt(sum of each run's ArviZ MCSE^2) / 3, not that of one long chain,
    which would count the runs' different means as Monte Carlo error."""
    rng = np.random.default_rng(11)
    runs = [ar1(rng, 4, 300, phi) + shift for phi, shift in ((0.2, 0.0), (0.6, 3.0), (0.9, -2.0))]
    pooled = np.concatenate(runs, axis=1)[None]  # (1 cell, 4 chains, 900 draws)
    each = [float(az.mcse(xr.DataArray(r, dims=("chain", "draw")))) for r in runs]
    ref = np.sqrt(np.sum(np.square(each))) / 3
    np.testing.assert_allclose(mcse_mean(pooled, blocks=3), [ref], rtol=1e-8)
    assert mcse_mean(pooled)[0] > 3 * ref  # as one chain: the means' spread dominates
