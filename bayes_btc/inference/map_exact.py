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
  by Gauss-Legendre quadrature on each side of the integrand's mode, out to where it has
  dropped by e^-45 (accurate for tau -> 0, for tau large against the binomial information,
  and for the one-sided likelihoods of 0 or n events).
  p(mu, tau | k) is evaluated at the centres of fine cells over the region of posterior mass
  (found by repeated zooming from a coarse grid; each tau row has its own mu range, since
  mu | tau is much narrower at small tau); a cell is drawn with probability proportional to
  its density times its area and the draw is jittered uniformly within it.

Then z_new ~ Normal(0, 1) and the predictive for a new trial is mu + tau z_new (log median),
or logit^-1(mu + tau z_new) (rate). The draws come back as a DataTree shaped like the NUTS run
(same posterior names and dims except the per-trial z, a `sample_stats` group with no
divergences, the model's constant data), so `priors.map_prior` uses either unchanged.
The grid error (cells of ~1/200 of the posterior range) is far below the Monte Carlo error.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pymc as pm
import xarray as xr
from scipy.special import expit, gammaln

from bayes_btc.inference.exact_sampling import exact_tree
from bayes_btc.inference.sampling import Progress, family_seed, quiet, sample_model
from bayes_btc.inputs.plan import HistoricalSettings, Sampler
from bayes_btc.models.map_meta import LOG_MEDIAN_MU_PRIOR, MODEL, RATE_MU_PRIOR, MetaData
from bayes_btc.threads import threaded_map

GL_NODES = 20  # Gauss-Legendre nodes per side of each trial effect's integrand
TAIL_DROP = 45.0  # each side integrated until the integrand has dropped by e^-45
GRID_1D = 4000  # tau grid points (log median)
GRID_2D = 200  # mu cells per tau row of the rate posterior
TAU_ROWS = 120  # tau rows (at most) of the rate posterior
ZOOMS = 4  # coarse-to-fine passes locating the posterior mass
LOG_DROP = 25.0  # cells below max log density - LOG_DROP are treated as no mass (e^-25)
QUAD_BLOCK = 256  # (mu, tau) points per block of the quadrature (its arrays stay in cache)


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


def tau_grid(
    log_post: Callable[[np.ndarray], np.ndarray], scale: float
) -> tuple[np.ndarray, np.ndarray]:
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


# --- response rate: 2-D grid, trial effects integrated by Gauss-Legendre per side ----------


def _log_binomial(k: np.ndarray, n: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """log Binomial(k | n, logit^-1(theta)) without its binomial coefficient, stable in the
    tails: k log p + (n - k) log(1 - p) = k theta - n log(1 + e^theta)."""
    return k * theta - n * np.logaddexp(0.0, theta)


def _log_integrand(k, n, mu, tau, theta: np.ndarray) -> np.ndarray:
    return _log_binomial(k, n, theta) + _log_normal(theta, mu, tau)


def trial_log_lik(
    k: np.ndarray, n: np.ndarray, mu: np.ndarray, tau: np.ndarray, nodes: int = GL_NODES
) -> np.ndarray:
    """log L[i](mu, tau) = log int Binomial(k[i] | n[i], logit^-1(theta)) N(theta | mu, tau),
    for mu, tau of shape (G,) (tau > 0) and trials (T,): (G, T).

    The log integrand is concave in theta: Newton finds its mode, then on each side Newton
    finds where it has dropped by TAIL_DROP (a side can be far longer than the other, e.g.
    k = n with tau large), and Gauss-Legendre integrates each side: blocks of `QUAD_BLOCK`
    points at a time, side by side in threads (the same numbers as all at once)."""
    mu, tau = mu[:, None], tau[:, None]
    prec = tau**-2.0

    def slope(theta: np.ndarray) -> np.ndarray:
        return k - n * expit(theta) - (theta - mu) * prec

    theta = np.broadcast_to(mu, (mu.shape[0], k.shape[0])).copy()
    for _ in range(100):
        p = expit(theta)
        step = (k - n * p - (theta - mu) * prec) / (n * p * (1 - p) + prec)  # slope / curvature
        theta += np.clip(step, -2.0, 2.0)
        if np.abs(step).max() < 1e-9:
            break
    p = expit(theta)
    top = _log_integrand(k, n, mu, tau, theta)
    r0 = (n * p * (1 - p) + prec) ** -0.5 * np.sqrt(2 * TAIL_DROP)  # exact for a Gaussian
    reach = []
    for side in (-1.0, 1.0):
        r = r0.copy()
        for _ in range(100):  # concave: after one step the iterates decrease to the root
            g = _log_integrand(k, n, mu, tau, theta + side * r) - top + TAIL_DROP
            dr = g / -(side * slope(theta + side * r))
            r = np.maximum(r + dr, 0.5 * r)
            if (np.abs(dr) < 1e-3 * r).all():  # the end point need not be exact
                break
        reach.append(r)

    gl = np.polynomial.legendre.leggauss(nodes)

    def block(rows: slice) -> np.ndarray:
        return _sides_integral(k, n, mu[rows], tau[rows], theta[rows], [r[rows] for r in reach], gl)

    g_rows = mu.shape[0]
    cuts = range(0, g_rows, QUAD_BLOCK)
    log_int = np.concatenate(threaded_map(block, [slice(c, c + QUAD_BLOCK) for c in cuts]))
    return log_int + gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _sides_integral(
    k: np.ndarray, n: np.ndarray, mu: np.ndarray, tau: np.ndarray, theta: np.ndarray,
    reach: list[np.ndarray], gl: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:  # fmt: skip
    """log of the integral of exp(`_log_integrand`) from theta - reach[0] to theta + reach[1],
    by Gauss-Legendre (nodes and weights `gl` on [-1, 1]) on each side of theta; all (G, T),
    mu and tau (G, 1)."""
    x, w = gl
    parts = []
    for side, r in zip((-1.0, 1.0), reach, strict=True):
        t = theta[..., None] + side * r[..., None] * (x + 1) / 2  # (G, T, nodes)
        log_f = _log_integrand(k[:, None], n[:, None], mu[..., None], tau[..., None], t)
        parts.append(log_f + np.log(w * r[..., None] / 2))
    terms = np.concatenate(parts, axis=-1)
    peak = terms.max(axis=-1)
    return peak + np.log(np.exp(terms - peak[..., None]).sum(axis=-1))


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Cells holding the posterior mass of (mu, tau): tau rows (centres (R,), width), and per
    row its own mu cells (centres (R, M), widths (R,)), with the log density at each (R, M).
    The box is zoomed in from the prior's range; then each row's mu range is narrowed to
    where that row has mass (mu | tau is much narrower at small tau)."""
    box = [mu_prior[0] - 8 * mu_prior[1], mu_prior[0] + 8 * mu_prior[1], 0.0, 12.0 * tau_scale]
    for i in range(ZOOMS + 1):
        m = TAU_ROWS if i == ZOOMS else 80
        mu, hm = _centres(box[0], box[1], m)
        tau, ht = _centres(box[2], box[3], m)
        mm, tt = np.meshgrid(mu, tau, indexing="ij")
        log_f = rate_log_post(k, n, mm.ravel(), tt.ravel(), tau_scale, mu_prior).reshape(m, m)
        inside = np.argwhere(log_f > log_f.max() - LOG_DROP)
        lo, hi = inside.min(axis=0), inside.max(axis=0)
        if i < ZOOMS:
            box = [
                max(box[0], mu[lo[0]] - 1.5 * hm),
                min(box[1], mu[hi[0]] + 1.5 * hm),
                max(0.0, tau[lo[1]] - 1.5 * ht),
                min(box[3], tau[hi[1]] + 1.5 * ht),
            ]
    top = log_f.max()
    rows = [j for j in range(m) if (log_f[:, j] > top - LOG_DROP).any()]
    mu_rows, widths = [], []
    for j in rows:
        idx = np.nonzero(log_f[:, j] > top - LOG_DROP)[0]
        c, h = _centres(mu[idx[0]] - 1.5 * hm, mu[idx[-1]] + 1.5 * hm, GRID_2D)
        mu_rows.append(c)
        widths.append(h)
    mu_c = np.array(mu_rows)
    tau_c = tau[rows]
    tt = np.broadcast_to(tau_c[:, None], mu_c.shape)
    log_f = rate_log_post(k, n, mu_c.ravel(), tt.ravel(), tau_scale, mu_prior).reshape(mu_c.shape)
    return mu_c, np.array(widths), tau_c, log_f, ht


def rate_draws(
    k: np.ndarray, n: np.ndarray, tau_scale: float, size: int, rng: np.random.Generator,
    mu_prior: tuple[float, float] = RATE_MU_PRIOR,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Exact posterior draws (mu, tau, z_new, new) of one binomial series (logit scale)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    mu_c, hm, tau_c, log_f, ht = rate_grid(k, n, tau_scale, mu_prior)
    prob = (np.exp(log_f - log_f.max()) * hm[:, None]).ravel()  # density x cell area
    cdf = np.cumsum(prob)
    cell = np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1]), prob.size - 1)
    j, i = np.unravel_index(cell, log_f.shape)
    mu = mu_c[j, i] + hm[j] * (rng.random(size) - 0.5)
    tau = np.abs(tau_c[j] + ht * (rng.random(size) - 0.5))
    z_new = rng.standard_normal(size)
    return {"mu": mu, "tau": tau, "z_new": z_new, "new": expit(mu + tau * z_new)}


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
    seconds = time.perf_counter() - t0
    progress(f"{MODEL}: {size} exact draws by quadrature in {seconds:.1f} s (no MCMC)")
    return exact_tree(post, model, MODEL, seconds)


def sample_map(
    model: pm.Model, data: MetaData, settings: HistoricalSettings, sampler: Sampler,
    progress: Progress = quiet,
) -> xr.DataTree:  # fmt: skip
    """The MAP meta-analysis: exact draws (`settings.sampler == "exact"`) or NUTS, as a check."""
    if settings.sampler == "exact":
        return sample_map_exact(model, data, settings, sampler, progress)
    return sample_model(model, sampler, MODEL, progress)
