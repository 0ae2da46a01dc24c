"""Posterior summary and convergence diagnostics of many quantities from one sort each.

`mcmc_stats` ranks the split chains once for bulk r_hat/ESS and once more, after folding
about the median, for the folded r_hat, and takes quantiles and medians by separate
partitions. Here each quantity's split-chain draws are sorted once (one vectorised argsort
over all quantities of a batch), and everything else is read off that order:
  - quantiles and the median are order statistics, so `np.quantile` of the sorted rows gives
    the same values (when the chains have an even number of draws, the split chains hold
    exactly the draws; otherwise the quantiles come from a sort of the unsplit draws);
  - ranks (ties averaged, as scipy's `rankdata`) are positions in the sorted row, and the
    normal scores of untied ranks one table per draw count, so `ndtri` runs only on ties;
  - |x - median| in sorted order is two sorted runs (below and above the median), which a
    stable sort merges in linear time.
The numbers are those of `mcmc_stats.rhat`, `ess_bulk` and `ess_tail` (tests check both
against ArviZ).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy import special

from bayes_btc.inference.mcmc_stats import TAIL_PROB, ess, rhat_basic, split_chains

SUMMARY_PROBS = (0.025, 0.5, 0.975)  # the equal-tailed 95% interval and the median


def sorted_quantiles(v: np.ndarray, probs: tuple[float, ...]) -> np.ndarray:
    """`np.quantile(row, probs)` (linear method) of every row of `v`, rows already sorted,
    shape (prob, row): the same order statistics and interpolation, without a partition."""
    n = v.shape[1]
    virtual = (n - 1) * np.asarray(probs, dtype=float)
    low = np.floor(virtual)
    high = low + 1
    top = virtual >= n - 1
    low[top], high[top] = -1, -1
    low[virtual < 0], high[virtual < 0] = 0, 0
    low_i, high_i = low.astype(np.intp), high.astype(np.intp)
    gamma = virtual - low_i
    a, b = v[:, low_i].T, v[:, high_i].T
    diff = b - a
    out = a + diff * gamma[:, None]
    upper = gamma >= 0.5
    out[upper] = (b - diff * (1 - gamma[:, None]))[upper]
    return out


def sorted_median(v: np.ndarray) -> np.ndarray:
    """`np.median` of every row of `v`, rows already sorted."""
    h = v.shape[1] // 2
    return (v[:, h - 1] + v[:, h]) / 2.0 if v.shape[1] % 2 == 0 else v[:, h].copy()


def half_rank_scores(n: int) -> np.ndarray:
    """table[h] = the normal score (Blom offset 3/8) of rank h / 2 among n values: average
    ranks over ties are whole or half numbers, so every score is a table entry."""
    return special.ndtri((0.5 * np.arange(2 * n + 2) - 0.375) / (n - 0.75 + 1))


@njit(cache=True, nogil=True, error_model="numpy")
def _score_groups(
    vals: np.ndarray, where: np.ndarray, table: np.ndarray, out: np.ndarray, row: np.ndarray
) -> None:
    """out[row[where[k]]] = score of vals[k] (sorted), ties sharing their average rank."""
    n = vals.shape[0]
    a = 0
    while a < n:
        b = a + 1
        while b < n and vals[b] == vals[a]:
            b += 1
        score = table[a + b + 1]  # average rank (a + 1 + b) / 2, 1-based
        for k in range(a, b):
            out[row[where[k]]] = score
        a = b


@njit(cache=True, nogil=True, error_model="numpy")
def rank_scores(
    v: np.ndarray, order: np.ndarray, median: np.ndarray, table: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Normal scores of the draws and of |draws - median|, in the draws' order.

    `v` holds each cell's draws sorted (`order` their argsort, `median` the row median);
    |v - median| in ascending order is the merge of the draws below the median (walked
    down) and those above it (walked up), so no second sort is needed."""
    cells, n = v.shape
    z = np.empty((cells, n))
    zf = np.empty((cells, n))
    folded = np.empty(n)
    source = np.empty(n, dtype=np.int64)
    same = np.arange(n)
    for c in range(cells):
        vc, oc = v[c], order[c]
        _score_groups(vc, oc, table, z[c], same)
        m = median[c]
        below = 0
        while below < n and vc[below] < m:
            below += 1
        i, j = below - 1, below  # v[:i+1] < m walked down, v[j:] >= m walked up
        for k in range(n):  # m - v is |v - m| below the median (rounding is symmetric)
            low = m - vc[max(i, 0)] if i >= 0 else np.inf
            high = vc[min(j, n - 1)] - m if j < n else np.inf
            take = low <= high
            folded[k] = low if take else high
            source[k] = i if take else j
            i -= take
            j += not take
        _score_groups(folded, source, table, zf[c], oc)
    return z, zf


def summarise(x: np.ndarray, probs: tuple[float, ...] = SUMMARY_PROBS) -> dict[str, np.ndarray]:
    """Mean, SD, quantiles at `probs` ("q0", "q1", ...), r_hat and bulk/tail ESS of each cell
    of (cell, chain, draw), finite draws. r_hat is NaN under 2 chains or 4 draws per chain."""
    x = np.ascontiguousarray(x, dtype=float)
    cells, n_chain, n_draw = x.shape
    flat = x.reshape(cells, -1)
    s = split_chains(x)
    split = s.reshape(cells, -1)
    n = split.shape[1]
    order = np.argsort(split, axis=1)
    v = np.take_along_axis(split, order, axis=1)
    ordered = v if n_draw % 2 == 0 else np.sort(flat, axis=1)  # the draws' order statistics
    q = sorted_quantiles(ordered, probs)
    tail = sorted_quantiles(ordered, tuple(sorted((TAIL_PROB, 1 - TAIL_PROB))))
    out = {"mean": flat.mean(axis=1), "sd": flat.std(axis=1, ddof=1)}
    out |= {f"q{k}": q[k] for k in range(len(probs))}
    z, zf = rank_scores(v, order, sorted_median(v), half_rank_scores(n))
    z = z.reshape(s.shape)
    if n_chain < 2 or n_draw < 4:
        out["r_hat"] = np.full(cells, np.nan)
    else:
        out["r_hat"] = np.maximum(rhat_basic(z), rhat_basic(zf.reshape(s.shape)))
    out["ess_bulk"] = ess(z)
    low = ess((s <= tail[0][:, None, None]).astype(float))  # split chains of x <= q
    high = ess((s <= tail[1][:, None, None]).astype(float))
    out["ess_tail"] = np.minimum(low, high)
    return out
