"""Exact independent draws of the MAP meta-analysis (`models/map_meta.py`) by quadrature.

No MCMC and no compile: each series (endpoint) has two parameters (mu, tau), so its posterior
can be evaluated on a grid and sampled directly.

- Log median (log months): marginally y[i] | mu, tau ~ Normal(mu, se[i]^2 + tau^2), and the
  Normal prior of mu is conjugate, so mu integrates out in closed form. p(tau | y) is then
  one-dimensional: evaluated on a fine grid over [0, upper] (upper found by zooming in on the
  posterior mass), tau is drawn by inverting the CDF of the piecewise-linear density, and
  mu | tau, y is Normal, drawn exactly.
- Response rate (logit scale): each trial's likelihood integrates its random effect out,
  L[i](mu, tau) = int Binomial(k[i] | n[i], logit^-1(theta)) Normal(theta | mu, tau) d theta,
  by adaptive Gauss-Hermite quadrature centred at the integrand's mode with its curvature as
  scale (accurate both for tau -> 0 and for tau large against the binomial information).
  p(mu, tau | k) is evaluated at the centres of a fine 2-D grid over the region of posterior
  mass (found by repeated zooming from a coarse grid); a cell is drawn with probability
  proportional to its density and the draw is jittered uniformly within it.

Then z_new ~ Normal(0, 1) and the predictive for a new trial is mu + tau z_new (log median),
or logit^-1(mu + tau z_new) (rate). The draws come back as a DataTree shaped like the NUTS run
(same posterior names and dims except the per-trial z, a `sample_stats` group with no
divergences, the model's constant data), so `priors.map_prior` uses either unchanged.
The grid error (cells of ~1/200 of the posterior range) is far below the Monte Carlo error.
"""

from __future__ import annotations

import time

import numpy as np
import pymc as pm
import xarray as xr
from scipy.special import gammaln, logsumexp

from bayes_btc.inference.sampling import Progress, family_seed, model_data, quiet, sample_model
from bayes_btc.inputs.plan import HistoricalSettings, Sampler
from bayes_btc.models.fit import EXACT_DRAWS
from bayes_btc.models.map_meta import LOG_MEDIAN_MU_PRIOR, MODEL, RATE_MU_PRIOR, MetaData

GH_NODES = 32  # Gauss-Hermite nodes per trial effect
GRID_1D = 4000  # tau grid points (log median)
GRID_2D = 240  # grid points per axis (mu, tau) of the rate posterior
ZOOMS = 4  # coarse-to-fine passes locating the posterior mass
LOG_DROP = 30.0  # cells below max log density - LOG_DROP are treated as no mass (e^-30)


def _log_halfnormal(tau: np.ndarray, scale: float) -> np.ndarray:
    return np.log(2.0) - 0.5 * np.log(2 * np.pi * scale**2) - 0.5 * (tau / scale) ** 2


def _log_normal(x: np.ndarray, mean: float | np.ndarray, sd: float | np.ndarray) -> np.ndarray:
    return -0.5 * np.log(2 * np.pi * sd**2) - 0.5 * ((x - mean) / sd) ** 2


# --- log median: mu integrated out analytically ------------------------------------------


def log_median_conditional(
    tau: np.ndarray, y: np.ndarray, se: np.ndarray, mu_prior: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each tau: (log p(y | tau), mean and SD of mu | tau, y), mu integrated out."""
    m0, s0 = mu_prior
    v = se[None, :] ** 2 + np.asarray(tau, float)[:, None] ** 2  # (tau, trial)
    a = 1 / s0**2 + (1 / v).sum(axis=1)  # posterior precision of mu
    b = m0 / s0**2 + (y / v).sum(axis=1)
    log_lik = (
        -0.5 * np.log(2 * np.pi * v).sum(axis=1)
        - 0.5 * (y**2 / v).sum(axis=1)
        - 0.5 * m0**2 / s0**2
        - np.log(s0)
        + 0.5 * b**2 / a
        - 0.5 * np.log(a)
    )
    return log_lik, b / a, a**-0.5


def _upper(log_f: np.ndarray, x: np.ndarray) -> float:
    """The grid point after the last one with mass (log density within LOG_DROP of the max)."""
    last = int(np.nonzero(log_f > log_f.max() - LOG_DROP)[0].max())
    return float(x[min(last + 1, len(x) - 1)])


def tau_grid(log_post, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A fine grid over [0, upper] holding the posterior mass of tau, and log p(tau | .)."""
    upper = 12.0 * scale  # the HalfNormal prior alone puts e^-72 beyond this
    for _ in range(ZOOMS):
        x = np.linspace(0.0, upper, 400)
        new = _upper(log_post(x), x)
        if new >= upper:
            break
        upper = new
    x = np.linspace(0.0, upper, GRID_1D)
    return x, log_post(x)


def piecewise_linear_draws(
    x: np.ndarray, log_f: np.ndarray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Exact inverse-CDF draws from the density interpolated linearly between grid points."""
    f = np.exp(log_f - log_f.max())
    f0, f1, h = f[:-1], f[1:], np.diff(x)
    mass = 0.5 * (f0 + f1) * h
    cdf = np.cumsum(mass)
    cell = np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1]), len(mass) - 1)
    u = rng.random(size)
    a, b = f0[cell], f1[cell]
    # within a cell: integral_0^t (a + (b - a) s) ds = u (a + b) / 2 for the fraction t
    t = u * (a + b) / (a + np.sqrt(a**2 + u * (b**2 - a**2)))
    return x[cell] + t * h[cell]


def log_median_draws(
    y: np.ndarray, se: np.ndarray, tau_scale: float, size: int, rng: np.random.Generator,
    mu_prior: tuple[float, float] = LOG_MEDIAN_MU_PRIOR,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Exact posterior draws (mu, tau, z_new, new) of one log-median series (log months)."""

    def log_post(tau: np.ndarray) -> np.ndarray:
        return _log_halfnormal(tau, tau_scale) + log_median_conditional(tau, y, se, mu_prior)[0]

    x, log_f = tau_grid(log_post, tau_scale)
    tau = piecewise_linear_draws(x, log_f, size, rng)
    _, m, s = log_median_conditional(tau, y, se, mu_prior)
    mu = m + s * rng.standard_normal(size)
    z_new = rng.standard_normal(size)
    return {"mu": mu, "tau": tau, "z_new": z_new, "new": mu + tau * z_new}


# --- response rate: 2-D grid, trial effects integrated by adaptive Gauss-Hermite -----------


def _log_binomial(k: np.ndarray, n: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """log Binomial(k | n, logit^-1(theta)), stable in the tails."""
    const = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    return const - k * np.logaddexp(0.0, -theta) - (n - k) * np.logaddexp(0.0, theta)


def trial_log_lik(
    k: np.ndarray, n: np.ndarray, mu: np.ndarray, tau: np.ndarray, nodes: int = GH_NODES
) -> np.ndarray:
    """log L[i](mu, tau) = log int Binomial(k[i] | n[i], logit^-1(theta)) N(theta | mu, tau),
    for mu, tau of shape (G,) (tau > 0) and trials (T,): (G, T). Adaptive Gauss-Hermite: the
    log integrand is concave in theta, so Newton finds its mode; the scale is its curvature."""
    mu, tau = mu[:, None], tau[:, None]
    prec = tau**-2.0
    theta = np.broadcast_to(mu, (mu.shape[0], k.shape[0])).copy()
    for _ in range(60):
        p = 1.0 / (1.0 + np.exp(-theta))
        grad = k - n * p - (theta - mu) * prec
        step = grad / (n * p * (1 - p) + prec)
        theta += np.clip(step, -2.0, 2.0)
        if np.abs(step).max() < 1e-10:
            break
    p = 1.0 / (1.0 + np.exp(-theta))
    sd = (n * p * (1 - p) + prec) ** -0.5
    x, w = np.polynomial.hermite.hermgauss(nodes)
    t = theta[..., None] + np.sqrt(2.0) * sd[..., None] * x  # (G, T, nodes)
    log_f = _log_binomial(k[:, None], n[:, None], t) + _log_normal(t, mu[..., None], tau[..., None])
    return np.log(np.sqrt(2.0) * sd) + logsumexp(log_f + x**2 + np.log(w), axis=-1)


def rate_log_post(
    k: np.ndarray, n: np.ndarray, mu: np.ndarray, tau: np.ndarray, tau_scale: float,
    mu_prior: tuple[float, float] = RATE_MU_PRIOR,
) -> np.ndarray:  # fmt: skip
    """log p(mu, tau | k) up to a constant, at points (G,)."""
    lik = trial_log_lik(k, n, mu, tau).sum(axis=1)
    return lik + _log_normal(mu, *mu_prior) + _log_halfnormal(tau, tau_scale)


def _centres(lo: float, hi: float, m: int) -> tuple[np.ndarray, float]:
    h = (hi - lo) / m
    return lo + h * (np.arange(m) + 0.5), h


def rate_grid(
    k: np.ndarray, n: np.ndarray, tau_scale: float, mu_prior: tuple[float, float] = RATE_MU_PRIOR
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Cell centres (mu, tau), log density at each (mu, tau) cell and the cell widths, over a
    box holding the posterior mass (zoomed in from the prior's range)."""
    box = [mu_prior[0] - 8 * mu_prior[1], mu_prior[0] + 8 * mu_prior[1], 0.0, 12.0 * tau_scale]
    for i in range(ZOOMS + 1):
        m = GRID_2D if i == ZOOMS else 80
        mu, hm = _centres(box[0], box[1], m)
        tau, ht = _centres(box[2], box[3], m)
        mm, tt = np.meshgrid(mu, tau, indexing="ij")
        log_f = rate_log_post(k, n, mm.ravel(), tt.ravel(), tau_scale, mu_prior).reshape(m, m)
        if i == ZOOMS:
            return mu, tau, log_f, hm, ht
        inside = np.argwhere(log_f > log_f.max() - LOG_DROP)
        lo, hi = inside.min(axis=0), inside.max(axis=0)
        box = [
            max(box[0], mu[lo[0]] - 1.5 * hm),
            min(box[1], mu[hi[0]] + 1.5 * hm),
            max(0.0, tau[lo[1]] - 1.5 * ht),
            min(box[3], tau[hi[1]] + 1.5 * ht),
        ]
    raise AssertionError("unreachable")


def rate_draws(
    k: np.ndarray, n: np.ndarray, tau_scale: float, size: int, rng: np.random.Generator,
    mu_prior: tuple[float, float] = RATE_MU_PRIOR,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Exact posterior draws (mu, tau, z_new, new) of one binomial series (logit scale)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    mu_c, tau_c, log_f, hm, ht = rate_grid(k, n, tau_scale, mu_prior)
    prob = np.exp(log_f - log_f.max()).ravel()
    cdf = np.cumsum(prob)
    cell = np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1]), prob.size - 1)
    i, j = np.unravel_index(cell, log_f.shape)
    mu = mu_c[i] + hm * (rng.random(size) - 0.5)
    tau = np.abs(tau_c[j] + ht * (rng.random(size) - 0.5))
    z_new = rng.standard_normal(size)
    return {"mu": mu, "tau": tau, "z_new": z_new, "new": 1 / (1 + np.exp(-(mu + tau * z_new)))}


# --- the DataTree ---------------------------------------------------------------------------


def _stack(per_series: list[dict[str, np.ndarray]], chains: int) -> dict[str, np.ndarray]:
    """(draw,) per series -> (chain, draw, series) per quantity."""
    return {
        q: np.stack([d[q] for d in per_series], axis=-1).reshape(chains, -1, len(per_series))
        for q in per_series[0]
    }


def sample_map_exact(
    model: pm.Model, data: MetaData, settings: HistoricalSettings, sampler: Sampler,
    progress: Progress = quiet,
) -> xr.DataTree:  # fmt: skip
    """Exact draws (`sampler.chains` x `sampler.draws`) of the MAP meta-analysis `model` of
    `data`, as a DataTree shaped like its NUTS run."""
    t0 = time.perf_counter()
    chains = sampler.chains
    size = chains * sampler.draws
    rng = np.random.default_rng(family_seed(sampler.seed, MODEL))
    out: dict[str, xr.DataArray] = {}
    parts = (
        ("rate", "rate_endpoint", data.binomial),
        ("log_median", "median_endpoint", data.log_median),
    )
    for var, dim, series in parts:
        if not series:
            continue
        if var == "rate":
            per = [rate_draws(s.events, s.n, settings.tau_scale_logit, size, rng) for s in series]
        else:
            scale = settings.tau_scale_log_median
            per = [
                log_median_draws(np.asarray(s.log_median, float), np.asarray(s.se, float),
                                 scale, size, rng)
                for s in series
            ]  # fmt: skip
        for q, v in _stack(per, chains).items():
            out[f"{var}_{q}"] = xr.DataArray(v, dims=("chain", "draw", dim))
    post = xr.Dataset(out).assign_coords(
        {k: list(v) for k, v in model.coords.items() if k.endswith("_endpoint")}
    )
    stats = xr.Dataset(
        {"diverging": xr.DataArray(np.zeros((chains, sampler.draws), bool), dims=("chain", "draw"))}
    )
    seconds = time.perf_counter() - t0
    post.attrs.update(
        {"model_family": MODEL, "compile_seconds": 0.0, "sampling_seconds": round(seconds, 3),
         "draws_from": EXACT_DRAWS}
    )  # fmt: skip
    progress(f"{MODEL}: {size} exact draws by quadrature in {seconds:.1f} s (no MCMC)")
    return xr.DataTree.from_dict(
        {"posterior": post, "sample_stats": stats, "constant_data": model_data(model)}
    )


def sample_map(
    model: pm.Model, data: MetaData, settings: HistoricalSettings, sampler: Sampler,
    progress: Progress = quiet,
) -> xr.DataTree:  # fmt: skip
    """The MAP meta-analysis: exact draws (`settings.sampler == "exact"`) or NUTS, as a check."""
    if settings.sampler == "exact":
        return sample_map_exact(model, data, settings, sampler, progress)
    return sample_model(model, sampler, MODEL, progress)
