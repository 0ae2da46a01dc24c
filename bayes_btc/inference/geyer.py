"""ESS by Geyer's initial monotone sequence, autocovariances computed only as far as it needs.

Geyer's sequence stops at the first pair of autocorrelations whose sum is <= 0, which for
well-mixing MCMC draws is a few lags. ArviZ (and `mcmc_stats.ess_fft`) compute the
autocovariance at every lag by FFT, O(n log n) per chain; this kernel computes lag t as the
direct sum over the draws, a block of `BLOCK` lags at a time and only until the sequence
stops, O(n x lags). Its loop is ArviZ's `_ess` step by step, so the ESS is the same up to
rounding (the direct sums are the more accurate ones). A cell still running at `max_lag`
returns NaN so that the caller computes it by FFT: a slowly mixing chain never costs
O(n^2). Compiled by numba and cached on disk (once per machine); it releases the GIL, and
every cell is computed alone, so the results do not depend on threads or batching.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

BLOCK = 8  # lags summed in one pass over a chain (independent accumulators)


@njit(cache=True, nogil=True, error_model="numpy")
def _lag_block(xc: np.ndarray, start: int, acov: np.ndarray) -> None:
    """acov[start + k] = mean over chains of sum_i xc[i] xc[i + start + k] / n, k < BLOCK."""
    n_chain, n = xc.shape
    acc = np.zeros(BLOCK)
    for j in range(n_chain):
        row = xc[j]
        part = np.zeros(BLOCK)
        full = n - start - BLOCK + 1  # draws i whose every lag of the block is inside
        for i in range(max(full, 0)):
            a = row[i]
            for k in range(BLOCK):
                part[k] += a * row[i + start + k]
        for i in range(max(full, 0), max(n - start, 0)):
            a = row[i]
            for k in range(min(BLOCK, n - start - i)):
                part[k] += a * row[i + start + k]
        for k in range(BLOCK):
            acc[k] += part[k] / n
    for k in range(BLOCK):
        if start + k < acov.shape[0]:
            acov[start + k] = acc[k] / n_chain


@njit(cache=True, nogil=True, error_model="numpy")
def _ess_cell(x: np.ndarray, max_lag: int, guess: bool, xc: np.ndarray, acov: np.ndarray) -> float:
    """ESS of one cell (chain, draw); NaN if the sequence runs past `max_lag` (or, with
    `guess`, looks set to)."""
    n_chain, n = x.shape
    means = np.empty(n_chain)
    for j in range(n_chain):
        s = 0.0
        for i in range(n):
            s += x[j, i]
        means[j] = s / n
    between = 0.0
    if n_chain > 1:
        grand = 0.0
        for j in range(n_chain):
            grand += means[j]
        grand /= n_chain
        for j in range(n_chain):
            between += (means[j] - grand) ** 2
        between /= n_chain - 1
    noise = 1.0 / math.sqrt(n_chain * n)
    # a glance at lag 1: autocorrelation r decaying as r^t reaches the noise level
    # 1/sqrt(n_chain n) only after log(noise) / log(r) lags; past max_lag, go to the FFT
    lag0, lag1 = 0.0, 0.0
    for j in range(n_chain):
        for i in range(n - 1):
            a = x[j, i] - means[j]
            lag0 += a * a
            lag1 += a * (x[j, i + 1] - means[j])
        last = x[j, n - 1] - means[j]
        lag0 += last * last
    glance = 1.0 - (lag0 - lag1) / (lag0 + between * n_chain * n)
    if guess and glance > 0 and max_lag * math.log(glance) > math.log(noise):
        return np.nan
    for j in range(n_chain):
        for i in range(n):
            xc[j, i] = x[j, i] - means[j]
    _lag_block(xc, 0, acov)
    done = BLOCK
    mean_var = acov[0] * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + between
    rho = np.zeros(n)
    rho[0] = 1.0
    even = 1.0
    odd = 1.0 - (mean_var - acov[1]) / var_plus
    rho[1] = odd
    t = 1
    while t < n - 3 and even + odd > 0.0:
        if t + 2 >= done:
            # stop at max_lag, or earlier where the pairs decay too slowly to fall to the
            # noise level 1/sqrt(n_chain n) by max_lag (a guess of cost, not of the result)
            if done >= max_lag or (guess and even + odd > 2.0 * noise ** (done / max_lag)):
                return np.nan
            _lag_block(xc, done, acov)
            done += BLOCK
        even = 1.0 - (mean_var - acov[t + 1]) / var_plus
        odd = 1.0 - (mean_var - acov[t + 2]) / var_plus
        if even + odd >= 0:
            rho[t + 1] = even
            rho[t + 2] = odd
        t += 2
    max_t = t - 2
    if even > 0:
        rho[max_t + 1] = even
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = (rho[t - 1] + rho[t]) / 2.0
            rho[t + 2] = rho[t + 1]
        t += 2
    total = n_chain * n
    head = 0.0
    for k in range(max_t + 1):
        head += rho[k]
    tau = -1.0 + 2.0 * head + (rho[max_t + 1] if max_t + 1 < n else 0.0)
    tau = max(tau, 1.0 / math.log10(total))
    return total / tau


@njit(cache=True, nogil=True, error_model="numpy")
def ess_cells(x: np.ndarray, max_lag: int, guess: bool = True) -> np.ndarray:
    """ESS of each cell of (cell, chain, draw), float64; NaN where the autocorrelation
    sequence has not stopped by lag `max_lag` (compute those by FFT) or is undefined. With
    `guess`, a cell whose autocorrelations decay too slowly to stop by `max_lag` is left
    early (NaN): a guess about cost only, as the FFT gives the same ESS."""
    cells, n_chain, n = x.shape
    out = np.empty(cells)
    xc = np.empty((n_chain, n))
    acov = np.zeros(max_lag + 2 * BLOCK)
    for c in range(cells):
        out[c] = _ess_cell(x[c], max_lag, guess, xc, acov)
    return out
