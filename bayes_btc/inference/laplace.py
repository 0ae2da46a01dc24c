"""Where each cell's posterior lies: Laplace approximations, refined by importance sampling.

All cells are located at once by damped Newton steps (Armijo backtracking) from the exact
gradient and a negative-definite Hessian. A pilot run from a defensive t mixture at the mode
(df `DF`; weight `WIDE` on twice the scale) then moves the location and scale to the
importance-weighted mean and covariance, which covers skewed or kinked posteriors (a prior on
the control median). The result whitens each cell for the HMC sampler (`inference/hmc.py`);
pilot draws are never kept, so it only affects efficiency, never what is sampled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LogDensity = Callable[[np.ndarray, np.ndarray], np.ndarray]  # x (..., c, D), cell idx -> (..., c)
GradHess = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

DF = 6.0  # degrees of freedom of the t proposal
WIDE = 0.1  # weight of the defensive component: the same t with twice the scale
PILOT = 1000  # draws per cell of the pilot run that refines the proposal's location and scale


@dataclass(frozen=True)
class Laplace:
    """Modes (C, D) and proposal scale: Cholesky factor (C, D, D) of the inverse precision."""

    mode: np.ndarray
    scale_tril: np.ndarray
    newton_steps: int


def find_modes(
    logp: Callable[[np.ndarray], np.ndarray],
    grad_hess: GradHess,
    x0: np.ndarray,
    max_steps: int = 50,
    tol: float = 1e-14,
) -> Laplace:
    """Damped Newton ascent of every cell at once from x0 (C, D); Armijo backtracking."""
    x = x0.copy()
    f = logp(x)
    steps = 0
    for steps in range(1, max_steps + 1):  # noqa: B007
        g, h = grad_hess(x)
        step = np.linalg.solve(-h, g[..., None])[..., 0]
        dec = (g * step).sum(-1)  # squared Newton decrement
        active = dec > tol
        if not active.any():
            break
        t = np.ones(len(x))
        for _ in range(60):
            xn = x + t[:, None] * step
            fn = logp(xn)
            ok = (fn >= f + 1e-4 * t * dec) | ~active
            if ok.all():
                break
            t = np.where(ok, t, t / 2)
        better = active & (fn > f)
        x = np.where(better[:, None], xn, x)
        f = np.where(better, fn, f)
    _, h = grad_hess(x)
    cov = np.linalg.inv(-h)
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    return Laplace(x, np.linalg.cholesky(cov), steps)


def proposal(
    laplace: Laplace, idx: np.ndarray, z: np.ndarray, chi2: np.ndarray, wide: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Draws (..., cell, D) of the defensive t mixture from standard normals z (..., cell, D),
    chi-square(DF) variates and a 0/1 choice of the wide component, with their log density
    (up to a constant per cell)."""
    dim = z.shape[-1]
    scale = np.sqrt(DF / chi2) * np.where(wide, 2.0, 1.0)
    y = laplace.mode[idx] + scale[..., None] * np.einsum(
        "ced,...cd->...ce", laplace.scale_tril[idx], z
    )
    delta = (z**2).sum(-1) * scale**2  # Mahalanobis distance under the narrow component
    narrow = np.log1p(-WIDE) - 0.5 * (DF + dim) * np.log1p(delta / DF)
    broad = np.log(WIDE) - dim * np.log(2.0) - 0.5 * (DF + dim) * np.log1p(delta / 4 / DF)
    return y, np.logaddexp(narrow, broad)


def refine(logp: LogDensity, laplace: Laplace, seed: int) -> Laplace:
    """Location and scale of the proposal moved to the importance-weighted mean and covariance
    of a pilot run from it (weights truncated at sqrt(n) x their mean); the pilot draws are
    not kept. Skewed or kinked posteriors (a median prior) are covered this way."""
    n_cells, dim = laplace.mode.shape
    rng = np.random.default_rng([seed, n_cells, 1])
    idx = np.arange(n_cells)
    z = rng.standard_normal((PILOT, n_cells, dim))
    y, log_q = proposal(
        laplace, idx, z, rng.chisquare(DF, (PILOT, n_cells)), rng.random((PILOT, n_cells)) < WIDE
    )
    log_w = logp(y, idx) - log_q
    w = np.exp(log_w - log_w.max(0))
    w = np.minimum(w, np.sqrt(PILOT) * w.mean(0))
    w /= w.sum(0)
    mean = np.einsum("nc,ncd->cd", w, y)
    dev = y - mean
    cov = np.einsum("nc,ncd,nce->cde", w, dev, dev)
    ess = 1.0 / (w**2).sum(0)
    good = ess >= 10 * dim  # too few effective pilot draws: keep the Laplace proposal
    try:
        tril = np.linalg.cholesky(cov + 1e-9 * np.eye(dim))
    except np.linalg.LinAlgError:
        return laplace
    return Laplace(
        np.where(good[:, None], mean, laplace.mode),
        np.where(good[:, None, None], tril, laplace.scale_tril),
        laplace.newton_steps,
    )
