"""r_hat, bulk/tail ESS and the MCSE of a probability for many quantities at once (numpy).

The same estimators as ArviZ (Vehtari, Gelman, Simpson, Carpenter and Buerkner 2021,
Bayesian Analysis 16:667-718): rank-normalised split r_hat (the larger of bulk and folded),
bulk ESS on rank-normalised split chains, tail ESS the smaller ESS of the indicators of two
quantiles (ArviZ's default 11% and 89%), each ESS by Geyer's initial monotone sequence. Every
function takes a stack of cells, shape (cell, chain, draw), and treats them together: one rank
transform and array arithmetic in place of a Python loop per quantity; autocovariances are
summed directly only as far as Geyer's sequence needs (`geyer`), by FFT past `max_lag`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft, special, stats

from bayes_btc.inference.geyer import BLOCK, ess_cells

RESOLUTION = float(np.finfo(float).resolution)
FFT_WORKERS = 2  # threads of one batch of FFTs (each transform is computed whole by one)
TAIL_PROB = 0.89  # ArviZ's default interval probability, whose two ends the tail ESS checks


def split_chains(x: np.ndarray) -> np.ndarray:
    """(cell, chain, draw) -> (cell, 2 chain, draw // 2): first and last halves of each chain."""
    half = x.shape[-1] // 2
    return np.concatenate([x[..., :half], x[..., x.shape[-1] - half :]], axis=1)


def z_scale(x: np.ndarray) -> np.ndarray:
    """Rank-normalise each cell over all its chains and draws (Blom offset 3/8)."""
    flat = x.reshape(x.shape[0], -1)
    rank = stats.rankdata(flat, method="average", axis=1)
    n = flat.shape[1]
    return special.ndtri((rank - 0.375) / (n - 0.75 + 1)).reshape(x.shape)


def rhat_basic(x: np.ndarray) -> np.ndarray:
    """Gelman-Rubin r_hat of each cell of (cell, chain, draw)."""
    n = x.shape[-1]
    between = n * np.var(x.mean(axis=-1), axis=-1, ddof=1)
    within = np.var(x, axis=-1, ddof=1).mean(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def rhat(x: np.ndarray) -> np.ndarray:
    """Rank-normalised split r_hat per cell: max of bulk and folded (NaN under 2 chains)."""
    x = np.asarray(x, dtype=float)
    if x.shape[1] < 2 or x.shape[2] < 4:
        return np.full(x.shape[0], np.nan)
    s = split_chains(x)
    folded = np.abs(s - np.median(s.reshape(s.shape[0], -1), axis=1)[:, None, None])
    return np.maximum(rhat_basic(z_scale(s)), rhat_basic(z_scale(folded)))


def rhat_ess_bulk(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r_hat, bulk ESS) per cell, sharing the one rank transform both need."""
    x = np.asarray(x, dtype=float)
    s = split_chains(x)
    z = z_scale(s)
    if x.shape[1] < 2 or x.shape[2] < 4:
        return np.full(x.shape[0], np.nan), ess(z)
    folded = np.abs(s - np.median(s.reshape(s.shape[0], -1), axis=1)[:, None, None])
    return np.maximum(rhat_basic(z), rhat_basic(z_scale(folded))), ess(z)


def max_lag(n_draw: int) -> int:
    """The lag up to which `geyer.ess_cells` sums autocovariances directly before a cell is
    left to the FFT (direct sums cost n per lag, the FFT about 6 log2(n) per draw while the
    chains stay in the CPU's cache; longer chains stream from memory at every lag)."""
    if n_draw > 4096:
        return 4 * BLOCK
    return max(int(6 * math.log2(max(n_draw, 2))), 2 * BLOCK)


def autocov_mean(x: np.ndarray, lags: int | None = None) -> np.ndarray:
    """Autocovariance averaged over the chains at lags 0..lags - 1 (default every lag), shape
    (cell, lag): one inverse FFT of the summed power spectra per cell instead of one per
    chain (the transform is linear), zero-padded to n + lags, enough for those lags."""
    n = x.shape[-1]
    lags = n if lags is None else min(lags, n)
    m = fft.next_fast_len(n + lags)
    f = fft.rfft(x - x.mean(axis=-1, keepdims=True), n=m, axis=-1, workers=FFT_WORKERS)
    power = (f.real**2 + f.imag**2).sum(axis=1)
    return fft.irfft(power, n=m, axis=-1, workers=FFT_WORKERS)[..., :lags] / (n * x.shape[1])


def ess(x: np.ndarray) -> np.ndarray:
    """ESS of each cell of (cell, chain, draw), Geyer's initial monotone sequence: the
    autocovariances summed directly up to where the sequence stops (`geyer`), by FFT
    (`ess_fft`) for cells still running at `max_lag`, first for a quarter of the lags (most
    sequences stop there), then for all; the same ESS up to rounding."""
    x = np.ascontiguousarray(x, dtype=float)
    cells, n_chain, n_draw = x.shape
    if n_draw < 2 * BLOCK or cells == 0:
        return ess_fft(x)
    out = ess_cells(x, max_lag(n_draw))
    slow = np.flatnonzero(np.isnan(out))
    if slow.size:
        out[slow] = ess_fft(x[slow], lags=n_draw // 4)
        longer = slow[np.isnan(out[slow])]
        if longer.size:
            out[longer] = ess_fft(x[longer])
    const = (x.max(axis=(1, 2)) - x.min(axis=(1, 2))) < RESOLUTION
    out[const] = n_chain * n_draw
    return out


def ess_fft(x: np.ndarray, lags: int | None = None) -> np.ndarray:
    """ESS of each cell of (cell, chain, draw) from the autocovariances at every lag (FFT),
    Geyer's initial monotone sequence in array form. With `lags`, only lags below it are
    computed, and a cell whose sequence has not stopped by then is NaN."""
    x = np.asarray(x, dtype=float)
    cells, n_chain, n_draw = x.shape
    total = n_chain * n_draw
    acov = autocov_mean(x, lags)
    mean_var = acov[:, 0] * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus = var_plus + np.var(x.mean(axis=-1), axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (mean_var[:, None] - acov) / var_plus[:, None]
    rho[:, 0] = 1.0
    n_pairs = max((n_draw - 1) // 2, 0)  # iterations k = 1.. while 2k - 1 < n_draw - 3
    k_max = len(range(1, n_draw - 3, 2))
    known = min(n_pairs, rho.shape[1] // 2)  # pairs whose lags were computed
    pairs = rho[:, : 2 * known].reshape(cells, known, 2).sum(axis=-1)  # P_0, P_1, ...
    pairs = pairs[:, : k_max + 1]
    complete = pairs.shape[1] == k_max + 1
    # m = iterations run: the first k >= 1 whose predecessor sum is <= 0 stops the loop
    stop = pairs[:, : min(k_max, pairs.shape[1])] <= 0
    found = stop.any(axis=1)
    m = np.where(found, stop.argmax(axis=1) if stop.shape[1] else 0, k_max if complete else 0)
    idx = np.arange(pairs.shape[1])[None, :]
    mono = np.minimum.accumulate(pairs, axis=1)
    head = np.where(idx < m[:, None], mono, 0.0).sum(axis=1)
    last_even = rho[np.arange(cells), 2 * m]
    last_sum = pairs[np.arange(cells), m]
    keep_last = ((m >= 1) & (last_sum >= 0)) | (last_even > 0)
    tau = -1.0 + 2.0 * head + np.where(keep_last, last_even, 0.0)
    tau = np.maximum(tau, 1.0 / math.log10(total))
    out = total / tau
    out[np.isnan(rho).any(axis=1) | ~(found | complete)] = np.nan
    const = (x.max(axis=(1, 2)) - x.min(axis=(1, 2))) < RESOLUTION
    out[const] = total
    return out


def ess_bulk(x: np.ndarray) -> np.ndarray:
    """Bulk ESS per cell: ESS of the rank-normalised split chains."""
    return ess(z_scale(split_chains(np.asarray(x, dtype=float))))


def ess_tail(x: np.ndarray, prob: float = TAIL_PROB) -> np.ndarray:
    """Tail ESS per cell: the smaller ESS of the indicators x <= q(1 - prob) and x <= q(prob)
    (ArviZ's default: prob = its `stats.ci_prob`, 0.89)."""
    x = np.asarray(x, dtype=float)
    flat = x.reshape(x.shape[0], -1)
    q = np.quantile(flat, sorted((prob, 1 - prob)), axis=1)  # (2, cell)
    low = ess(split_chains((x <= q[0][:, None, None]).astype(float)))
    high = ess(split_chains((x <= q[1][:, None, None]).astype(float)))
    return np.minimum(low, high)


def ess_mean(x: np.ndarray) -> np.ndarray:
    """ESS of the mean per cell (split chains, no rank transform): for 0/1 indicators, the
    ESS of a posterior probability."""
    return ess(split_chains(np.asarray(x, dtype=float)))


def split_blocks(x: np.ndarray, blocks: int) -> np.ndarray:
    """(cell, chain, blocks x d) -> (cell x blocks, 2 chain, d // 2), float64 and contiguous:
    `split_chains` of each block of d consecutive draws (a run of its own), in one copy."""
    cells, n_chain, n = x.shape
    d = n // blocks
    half = d // 2
    b = x.reshape(cells, n_chain, blocks, d)
    if d % 2:  # split_chains drops the middle draw
        b = np.concatenate([b[..., :half], b[..., d - half :]], axis=-1)
    runs = b.reshape(cells, n_chain, blocks, 2, half).transpose(0, 2, 3, 1, 4)
    return np.ascontiguousarray(runs, dtype=float).reshape(cells * blocks, 2 * n_chain, half)


def indicator_mcse(
    indicator: np.ndarray, p_ref: np.ndarray | None = None, blocks: int = 1
) -> np.ndarray:
    """Monte Carlo SE of P(event) per cell from 0/1 draws (cell, chain, draw):
    sqrt(p(1 - p) / ESS), p the reference (default the estimate) kept >= 1/N from 0 and 1.
    With `blocks` > 1, each of that many equal consecutive blocks of draws (reconstructed
    sets pooled) is a run of its own: shape (cell, block), p_ref per cell."""
    ind = np.asarray(indicator)
    cells, n_chain, n_draw = ind.shape
    d = n_draw // blocks
    n = n_chain * d
    e = ess(split_blocks(ind, blocks)).reshape(cells, blocks)
    e = np.where(np.isfinite(e) & (e > 0), e, n)
    if p_ref is None:
        p = ind.reshape(cells, n_chain, blocks, d).mean(axis=(1, 3))
    else:
        p = np.asarray(p_ref, dtype=float)[:, None]
    p = np.clip(p, 1 / n, 1 - 1 / n)
    out = np.sqrt(p * (1 - p) / e)
    return out[:, 0] if blocks == 1 else out


def mcse_mean(x: np.ndarray, blocks: int = 1) -> np.ndarray:
    """Monte Carlo SE of the mean per cell: SD / sqrt(ESS of the mean) (ArviZ's `mcse`).
    With `blocks` > 1, each of that many equal consecutive blocks of draws (reconstructed
    sets pooled) is a run of its own, and the mean over blocks has the MCSE of a mean of
    independent estimates, sqrt(sum_b MCSE_b^2) / blocks (as the P(NI) MCSE of pooled fits):
    the blocks' different data are not Monte Carlo error."""
    x = np.asarray(x, dtype=float)
    if blocks == 1:
        sd = x.reshape(x.shape[0], -1).std(axis=1, ddof=1)
        return sd / np.sqrt(ess_mean(x))
    cells, n_chain, n_draw = x.shape
    d = n_draw // blocks
    runs = x.reshape(cells, n_chain, blocks, d).transpose(0, 2, 1, 3)
    sd = runs.reshape(cells, blocks, n_chain * d).std(axis=2, ddof=1)
    e = ess(split_blocks(x, blocks)).reshape(cells, blocks)
    se = np.where(sd > 0, sd / np.sqrt(e), 0.0)
    return np.sqrt((se**2).sum(axis=1)) / blocks
