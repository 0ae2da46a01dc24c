"""The PWE log posterior and its gradient as compiled loops (numba), for the HMC sampler.

The same function as `models/pwe_density.py`'s `log_density` (tests check the two agree to
1e-10, and the gradient against finite differences), written as one loop per cell so that a
leapfrog step costs microseconds instead of numpy's per-call overhead. `transition_kernel`
runs one HMC transition (a whole leapfrog trajectory and its Metropolis step) of every
independent (chain, cell), one per iteration of a parallel loop: each is computed by one
thread in a fixed order, so the draws are the same for any number of threads. numba caches
the compiled machine code on disk, so it is compiled once per machine.
"""

from __future__ import annotations

import importlib.util
import math
import os

import numba
import numpy as np
from numba import njit, prange

LOG2 = math.log(2.0)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# The parallel loop runs thousands of short regions: with OpenMP told to let idle threads
# sleep, a busy machine loses no CPU to threads spinning at the region's end (numba's default
# layer spins). Set only if the user chose no layer, and only where numba's OpenMP layer exists.
if "NUMBA_THREADING_LAYER" not in os.environ and importlib.util.find_spec("numba.np.ufunc.omppool"):
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    numba.config.THREADING_LAYER = "omp"


@njit(cache=True, inline="always", error_model="numpy")
def _mixture(x: float, log_w: np.ndarray, m: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """log sum_j w_j N(x | m_j, s_j) and its derivative in x, from log w (-inf: no component),
    in one pass (running maximum)."""
    top = -np.inf
    total, slope = 0.0, 0.0
    for j in range(log_w.shape[0]):
        if log_w[j] > -np.inf:
            z = (x - m[j]) / s[j]
            t = log_w[j] - 0.5 * z * z - math.log(s[j])
            if t > top:
                scale = math.exp(top - t)
                total = total * scale + 1.0
                slope = slope * scale - z / s[j]
                top = t
            else:
                r = math.exp(t - top)
                total += r
                slope -= r * z / s[j]
    return top - HALF_LOG_2PI + math.log(total), slope / total


@njit(cache=True, error_model="numpy")
def cell_value_gradient(
    xs: np.ndarray,  # (D,) one point of cell c
    g: np.ndarray,  # (D,) zeros on entry: the gradient on return
    h: np.ndarray,  # (K,) scratch: the control arm's hazards
    c: int,
    events: np.ndarray,  # (C, 2, K)
    exposure: np.ndarray,  # (C, 2, K)
    ph: bool,
    hr_log_w: np.ndarray,  # (C, J) log weights (-inf: padding)
    hr_mean: np.ndarray,
    hr_sd: np.ndarray,
    base_mean: float,
    base_sd: float,
    smoothing_sd: float,
    hr_smoothing_sd: float,
    med_log_w: np.ndarray,  # (C, M) log weights (-inf: padding)
    med_mean: np.ndarray,
    med_sd: np.ndarray,
    has_median: np.ndarray,  # (C,)
    start: np.ndarray,  # (C, K)
    width: np.ndarray,  # (C, K)
) -> float:
    """Log posterior of cell c at xs; its gradient is added into g (-inf and zeros outside
    the support)."""
    dim = xs.shape[0]
    k_n = events.shape[2]
    total = 0.0
    hr = math.exp(xs[k_n])
    for k in range(k_n):
        a = xs[k]
        b = xs[k_n] if ph else xs[k_n + k]
        h[k] = math.exp(a)
        mu_c = exposure[c, 1, k] * h[k]
        mu_t = exposure[c, 0, k] * (h[k] * hr if ph else math.exp(a + b))
        total += events[c, 0, k] * (a + b) - mu_t + events[c, 1, k] * a - mu_c
        r_t = events[c, 0, k] - mu_t
        g[k] += r_t + events[c, 1, k] - mu_c
        if ph:
            g[k_n] += r_t
        else:
            g[k_n + k] += r_t
    z0 = (xs[0] - base_mean) / base_sd
    total -= 0.5 * z0 * z0
    g[0] -= z0 / base_sd
    for k in range(1, k_n):
        step = (xs[k] - xs[k - 1]) / (smoothing_sd * smoothing_sd)
        total -= 0.5 * (xs[k] - xs[k - 1]) * step
        g[k] -= step
        g[k - 1] += step
    v, s1 = _mixture(xs[k_n], hr_log_w[c], hr_mean[c], hr_sd[c])
    total += v
    g[k_n] += s1
    if not ph:
        for k in range(1, k_n):
            step = (xs[k_n + k] - xs[k_n + k - 1]) / (hr_smoothing_sd * hr_smoothing_sd)
            total -= 0.5 * (xs[k_n + k] - xs[k_n + k - 1]) * step
            g[k_n + k] -= step
            g[k_n + k - 1] += step
    if has_median[c]:
        cum = 0.0
        j = -1
        for k in range(k_n):
            nxt = cum + h[k] * width[c, k]
            if cum < LOG2 and nxt >= LOG2:
                j = k
                break
            cum = nxt
        if j >= 0:
            m = start[c, j] + (LOG2 - cum) / h[j]
            v, s1 = _mixture(math.log(m), med_log_w[c], med_mean[c], med_sd[c])
            total += v
            f = s1 / m  # d value / d m
            for k in range(j):
                g[k] += f * (-h[k] * width[c, k] / h[j])
            g[j] += f * (-(LOG2 - cum) / h[j])
        else:
            total = -np.inf
    if not math.isfinite(total):
        total = -np.inf
        for d in range(dim):
            g[d] = 0.0
    return total


@njit(cache=True, error_model="numpy", nogil=True)
def value_and_gradient_kernel(
    x: np.ndarray,  # (N, C, D)
    cell: tuple,  # the cell arrays of `cell_value_gradient`, from `events` on
) -> tuple[np.ndarray, np.ndarray]:
    """Log posterior (N, C) and gradient (N, C, D) of every cell at N points each (the cell
    arrays as in `cell_value_gradient`)."""
    n, c_n, dim = x.shape
    lp = np.empty((n, c_n))
    grad = np.zeros((n, c_n, dim))
    h = np.empty(cell[0].shape[2])
    for i in range(n):
        for c in range(c_n):
            lp[i, c] = cell_value_gradient(x[i, c], grad[i, c], h, c, *cell)
    return lp, grad


@njit(cache=True, error_model="numpy", parallel=True, nogil=True)
def transition_kernel(
    u: np.ndarray,  # (chain, C, D) whitened positions: updated in place
    lp: np.ndarray,  # (chain, C) log posterior at u: updated in place
    g: np.ndarray,  # (chain, C, D) gradient at u, whitened units: updated in place
    r: np.ndarray,  # (M, chain, C, D) momenta drawn for each of M transitions
    eps: np.ndarray,  # (M, chain, C) step sizes
    n_steps: np.ndarray,  # (C,) leapfrog steps per cell
    log_u: np.ndarray,  # (M, chain, C) log uniforms of the accept steps
    max_error: float,  # larger energy error: divergent (rejected)
    mode: np.ndarray,  # (C, D): x = mode + tril u
    tril: np.ndarray,  # (C, D, D) lower triangular
    tril_t: np.ndarray,  # (C, D, D) its transpose, contiguous
    x_out: np.ndarray,  # (M, chain, C, D) filled with mode + tril u after each transition
    alpha: np.ndarray,  # (M, chain, C) filled with the acceptance probabilities
    bad: np.ndarray,  # (M, chain, C) filled with: divergent
    cell: tuple,  # the cell arrays of `cell_value_gradient`, from `events` on
) -> None:
    """M successive HMC transitions of every (chain, cell c), each `n_steps[c]` leapfrog steps
    in whitened units from u with momentum r[m], then the Metropolis step on the energy error
    H = -log p + |r|^2 / 2, accepted when log_u[m] < log alpha (the cell arrays as in
    `cell_value_gradient`)."""
    n_ch, c_n, dim = u.shape
    k_n = cell[0].shape[2]
    for idx in prange(n_ch * c_n):
        ch = idx // c_n
        c = idx % c_n
        n = n_steps[c]
        uu = np.empty(dim)
        rr = np.empty(dim)
        x = np.empty(dim)
        gx = np.empty(dim)
        gu = np.empty(dim)
        h = np.empty(k_n)
        for m in range(r.shape[0]):
            e = eps[m, ch, c]
            for d in range(dim):
                uu[d] = u[ch, c, d]
                rr[d] = r[m, ch, c, d] + 0.5 * e * g[ch, c, d]
                gu[d] = 0.0
            total = -np.inf
            for step in range(n):
                for d in range(dim):
                    uu[d] += e * rr[d]
                    x[d] = mode[c, d]
                    gx[d] = 0.0
                for j in range(dim):  # x += tril u, by columns (tril_t rows: contiguous)
                    for i in range(j, dim):
                        x[i] += tril_t[c, j, i] * uu[j]
                total = cell_value_gradient(x, gx, h, c, *cell)
                for d in range(dim):
                    gu[d] = 0.0
                for i in range(dim):  # gu = tril' gx, by rows of tril (contiguous)
                    for j in range(i + 1):
                        gu[j] += tril[c, i, j] * gx[i]
                f = e if step < n - 1 else 0.5 * e
                for d in range(dim):
                    rr[d] += f * gu[d]
            kinetic0, kinetic1 = 0.0, 0.0
            for d in range(dim):
                kinetic0 += r[m, ch, c, d] * r[m, ch, c, d]
                kinetic1 += rr[d] * rr[d]
            error = (lp[ch, c] - 0.5 * kinetic0) - (total - 0.5 * kinetic1)
            diverged = not math.isfinite(error) or error > max_error
            log_alpha = -np.inf if diverged else min(0.0, -error)
            alpha[m, ch, c] = math.exp(log_alpha)
            bad[m, ch, c] = diverged
            if log_u[m, ch, c] < log_alpha:
                for d in range(dim):
                    u[ch, c, d] = uu[d]
                    g[ch, c, d] = gu[d]
                lp[ch, c] = total
            for d in range(dim):
                x[d] = mode[c, d]
            for j in range(dim):
                for i in range(j, dim):
                    x[i] += tril_t[c, j, i] * u[ch, c, j]
            for d in range(dim):
                x_out[m, ch, c, d] = x[d]
