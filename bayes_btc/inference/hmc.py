"""Hamiltonian Monte Carlo for many independent cells at once: the chain logic in numpy, the
leapfrog trajectories by numpy steps or by a compiled loop the model supplies.

Each cell starts whitened by a location and scale (its Laplace approximation refined by
importance sampling, `inference/laplace.py`), so a unit mass matrix suits it. Warm-up has three
windows, as Stan's: (1) the step size is adapted per chain and cell by dual averaging to an
acceptance of `TARGET` (Hoffman & Gelman 2014), `STEPS` leapfrog steps per iteration; (2) the
same, while the draws are collected; at its end each cell is re-whitened by the mean and
covariance of its window-2 draws (all chains); (3) the step size is adapted again. Sampling then
integrates for a time drawn per iteration from `TRAJECTORY` (a quarter to half a period of the
whitened posterior, so successive draws are nearly independent), each cell in as many leapfrog
steps as its own adapted step size needs (at most `MAX_STEPS`), never stepping further than
that size: no cell's step size or step count is set by another's. With nothing left to adapt,
these transitions are asked for `BLOCK` at a time (the random numbers drawn in the same order
as one at a time, so the draws are the same), which a compiled transition runs in one call.
The Metropolis correction makes each chain's stationary law the exact posterior;
r_hat, the ESS and divergences (energy error > `MAX_ENERGY_ERROR`, rejected) report on it as for
any MCMC run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bayes_btc.inference.laplace import Laplace
from bayes_btc.interrupts import check_interrupted

STEPS = 6  # leapfrog steps per warm-up iteration
MAX_STEPS = 20  # leapfrog steps per iteration after warm-up, at most
BLOCK = 50  # iterations after warm-up per call of the transition (one parallel region)
TRAJECTORY = (1.5, 3.0)  # integration time per iteration after warm-up (whitened units)
TARGET = 0.8  # acceptance the step size is adapted to
WINDOWS = (0.3, 0.8)  # warm-up fractions where windows 1 and 2 end
MAX_ENERGY_ERROR = 1000.0  # larger: a divergent transition (rejected and counted)

Density = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # x (chain, C, D) -> lp, grad
# (u, lp, g, r, eps, n_steps, log_u, max_error, mode, tril) -> u, lp, g, alpha, divergent, x:
# M successive transitions of every (chain, cell) in whitened units x = mode + tril u from u
# (log density lp, gradient g), the m-th with momentum r[m] and n_steps (C,) leapfrog steps of
# size eps[m] (chain, C), accepted where log_u[m] < log alpha; returns the state after the
# last, and alpha, divergent and x (M, chain, C[, D]) after each (new arrays)
Transition = Callable[..., tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class HMCRun:
    """Kept draws (chain, draw, C, D), divergences (chain, draw, C), mean acceptance (chain, C),
    the adapted step size (chain, C) in whitened units and the leapfrog steps per iteration of
    each cell (C,) after warm-up."""

    draws: np.ndarray
    divergent: np.ndarray
    accept_rate: np.ndarray
    step_size: np.ndarray
    n_steps: np.ndarray


class DualAveraging:
    """Step-size adaptation per chain and cell (Hoffman & Gelman 2014, algorithm 5)."""

    def __init__(self, shape: tuple[int, ...], start: float = 0.5) -> None:
        self.mu = np.log(10 * start)
        self.t = 0
        self.hbar = np.zeros(shape)
        self.log_eps = np.full(shape, np.log(start))
        self.log_eps_bar = np.zeros(shape)

    def update(self, accept: np.ndarray) -> None:
        self.t += 1
        t = self.t
        self.hbar = (1 - 1 / (t + 10)) * self.hbar + (TARGET - accept) / (t + 10)
        self.log_eps = self.mu - np.sqrt(t) / 0.05 * self.hbar
        w = t**-0.75
        self.log_eps_bar = w * self.log_eps + (1 - w) * self.log_eps_bar


def rewhiten(
    mode: np.ndarray, tril: np.ndarray, window: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """New location (C, D) and scale (C, D, D) from window draws (n, C, D) in whitened units,
    the covariance regularised towards the identity as Stan's."""
    n, _, dim = window.shape
    mean = window.mean(0)
    dev = window - mean
    cov = np.einsum("ncd,nce->cde", dev, dev) / max(n - 1, 1)
    cov = (n / (n + 5.0)) * cov + 1e-3 * (5.0 / (n + 5.0)) * np.eye(dim)
    chol = np.linalg.cholesky(cov)
    return mode + (tril @ mean[..., None])[..., 0], tril @ chol


def whitened(
    density: Density, mode: np.ndarray, tril: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Log density and gradient at whitened u (..., C, D), x = mode + tril u."""
    lp, g = density(mode + (tril @ u[..., None])[..., 0])
    return lp, (np.swapaxes(tril, -1, -2) @ g[..., None])[..., 0]


def numpy_transition(density: Density) -> Transition:
    """HMC transitions by numpy array steps over all (chain, cell) together."""

    def one(u, lp, g, r, eps, n_steps, log_u, max_error, mode, tril):
        e = eps[..., None]
        n = n_steps[:, None]
        un, rn = u, r + 0.5 * e * g
        with np.errstate(over="ignore", invalid="ignore"):
            for step in range(int(n_steps.max())):
                un = un + np.where(step < n, e, 0.0) * rn  # a cell past its steps stays put
                lpn, gn = whitened(density, mode, tril, un)
                rn = rn + np.where(step < n - 1, e, np.where(step == n - 1, 0.5 * e, 0.0)) * gn
            # energy error H(end) - H(start), H = -log p + |r|^2 / 2
            error = (lp - 0.5 * (r**2).sum(-1)) - (lpn - 0.5 * (rn**2).sum(-1))
        bad = ~np.isfinite(error) | (error > max_error)
        log_alpha = np.where(bad, -np.inf, np.minimum(0.0, -error))
        take = log_u < log_alpha
        u = np.where(take[..., None], un, u)
        x = mode + (tril @ u[..., None])[..., 0]
        lp = np.where(take, lpn, lp)
        g = np.where(take[..., None], gn, g)
        return u, lp, g, np.exp(log_alpha), bad, x

    def run(u, lp, g, r, eps, n_steps, log_u, max_error, mode, tril):
        alpha, bad, x = [], [], []
        for m in range(len(r)):
            u, lp, g, a, b, xm = one(
                u, lp, g, r[m], eps[m], n_steps, log_u[m], max_error, mode, tril
            )
            alpha.append(a)
            bad.append(b)
            x.append(xm)
        return u, lp, g, np.stack(alpha), np.stack(bad), np.stack(x)

    return run


def hmc_sample(
    density: Density,
    where: Laplace,
    chains: int,
    warmup: int,
    draws: int,
    seed: int,
    transition: Transition | None = None,
) -> HMCRun:
    """`chains` HMC chains per cell: `warmup` adapting iterations, then `draws` kept; each
    transition by `transition` (a compiled one) or else by numpy steps on `density`."""
    step = transition or numpy_transition(density)
    n_cells, dim = where.mode.shape
    rng = np.random.default_rng([seed, n_cells, dim, 2])
    mode, tril = where.mode, where.scale_tril
    end1, end2 = (int(f * warmup) for f in WINDOWS)
    u = rng.standard_normal((chains, n_cells, dim))
    lp, g = whitened(density, mode, tril, u)
    adapt = DualAveraging((chains, n_cells))
    window = []
    n_steps = np.full(n_cells, STEPS)
    out = np.empty((chains, draws, n_cells, dim))
    divergent = np.zeros((chains, draws, n_cells), bool)
    accepted = np.zeros((chains, n_cells))
    for it in range(warmup):
        if it % BLOCK == 0:  # families may sample in threads: a signal stops each promptly
            check_interrupted()
        eps = np.exp(adapt.log_eps) * rng.uniform(0.8, 1.2, (chains, n_cells))
        r0 = rng.standard_normal(u.shape)
        log_u = np.log(rng.random((chains, n_cells)))
        u, lp, g, alpha, _, x = step(
            u, lp, g, r0[None], eps[None], n_steps, log_u[None], MAX_ENERGY_ERROR, mode, tril
        )
        adapt.update(alpha[0])
        if end1 <= it < end2:
            window.append(u)
        if it == end2 - 1 and len(window) > 2 * dim:
            mode, tril = rewhiten(mode, tril, np.concatenate(window, axis=0))
            u = np.linalg.solve(tril, (x[0] - mode)[..., None])[..., 0]
            lp, g = whitened(density, mode, tril, u)
            adapt = DualAveraging((chains, n_cells), float(np.exp(adapt.log_eps_bar).mean()))
    if warmup:
        adapt.log_eps = adapt.log_eps_bar
        smallest = np.exp(adapt.log_eps).min(axis=0)  # over chains, per cell
        n_steps = np.clip(np.ceil(TRAJECTORY[1] / smallest), 2, MAX_STEPS).astype(int)
    for i in range(0, draws, BLOCK):  # BLOCK iterations per call: no adaptation left
        check_interrupted()
        m = min(BLOCK, draws - i)
        eps, r0, log_u = [], [], []
        for _ in range(m):
            eps.append(np.minimum(np.exp(adapt.log_eps), rng.uniform(*TRAJECTORY) / n_steps))
            r0.append(rng.standard_normal(u.shape))
            log_u.append(np.log(rng.random((chains, n_cells))))
        u, lp, g, alpha, bad, x = step(
            u, lp, g, np.stack(r0), np.stack(eps), n_steps, np.stack(log_u), MAX_ENERGY_ERROR,
            mode, tril,
        )  # fmt: skip
        out[:, i : i + m] = np.moveaxis(x, 0, 1)
        divergent[:, i : i + m] = np.moveaxis(bad, 0, 1)
        accepted += alpha.sum(0)
    return HMCRun(out, divergent, accepted / max(draws, 1), np.exp(adapt.log_eps), n_steps)
