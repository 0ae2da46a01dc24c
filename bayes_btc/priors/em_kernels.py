"""The E-step of a mixture EM over the draws as compiled loops (numba): each component's log
density plus its log weight, shifted by each draw's maximum (one pass instead of eight numpy
passes and temporaries), and the sums and division that turn the exponentiated weights into
responsibilities.

Every value is the one the numpy expressions they replace give, bit for bit: the same IEEE
operations in the same order (no fast-math, so no fused multiply-add), maxima and sums over
components in component order. exp and log stay with numpy (its SIMD versions may differ from
libm's in the last bit), and so do the M-step's sums over the draws (numpy's pairwise
summation, faster than a compiled copy of it). Compiled once per machine (numba's disk cache);
the loops release the GIL, so fits run side by side in threads (`bayes_btc/threads.py`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

FLOOR = -500.0  # shifted log weights below this are clipped: subnormal floats slow exp ~100x


@njit(cache=True, nogil=True, error_model="numpy")
def _shift(lp: np.ndarray, top: np.ndarray) -> None:
    """top = lp.max(axis=0) (NaN if any is NaN); lp -= top; then, if lp.min() < FLOOR (and no
    NaN), lp = max(lp, FLOOR): as `priors/em.py`'s numpy E-step."""
    k_rows, n = lp.shape
    for j in range(n):
        top[j] = lp[0, j]
    for k in range(1, k_rows):
        row = lp[k]
        for j in range(n):
            x, t = row[j], top[j]
            top[j] = x if (x > t or x != x) else t
    low = False
    nan = False
    for k in range(k_rows):
        row = lp[k]
        for j in range(n):
            x = row[j] - top[j]
            row[j] = x
            low |= x < FLOOR
            nan |= x != x
    if low and not nan:
        for k in range(k_rows):
            row = lp[k]
            for j in range(n):
                if row[j] < FLOOR:
                    row[j] = FLOOR


@njit(cache=True, nogil=True, error_model="numpy")
def normal_log_weights(
    x: np.ndarray, m: np.ndarray, inv_s: np.ndarray, c: np.ndarray, lw: np.ndarray,
    lp: np.ndarray, top: np.ndarray,
) -> None:  # fmt: skip
    """lp[k] = ((x - m_k) inv_s_k)^2 (-1/2) - c_k + lw_k, then shifted by each draw's maximum
    into `top`."""
    for k in range(lp.shape[0]):
        mk, ik, ck, wk = m[k], inv_s[k], c[k], lw[k]
        row = lp[k]
        for j in range(x.shape[0]):
            z = (x[j] - mk) * ik
            row[j] = z * z * -0.5 - ck + wk
    _shift(lp, top)


@njit(cache=True, nogil=True, error_model="numpy")
def beta_log_weights(
    lx: np.ndarray, l1x: np.ndarray, am1: np.ndarray, bm1: np.ndarray, c: np.ndarray,
    lw: np.ndarray, lp: np.ndarray, top: np.ndarray,
) -> None:  # fmt: skip
    """lp[k] = (a_k - 1) log x + (b_k - 1) log(1 - x) - c_k + lw_k, then shifted by each draw's
    maximum into `top`."""
    for k in range(lp.shape[0]):
        ak, bk, ck, wk = am1[k], bm1[k], c[k], lw[k]
        row = lp[k]
        for j in range(lx.shape[0]):
            row[j] = ak * lx[j] + bk * l1x[j] - ck + wk
    _shift(lp, top)


@njit(cache=True, nogil=True, error_model="numpy")
def column_sums(e: np.ndarray, total: np.ndarray) -> None:
    """total = e.sum(axis=0) (components in order)."""
    for j in range(e.shape[1]):
        total[j] = e[0, j]
    for k in range(1, e.shape[0]):
        row = e[k]
        for j in range(e.shape[1]):
            total[j] += row[j]


@njit(cache=True, nogil=True, error_model="numpy")
def divide_columns(e: np.ndarray, total: np.ndarray) -> None:
    """e /= total (each column by its own sum)."""
    for k in range(e.shape[0]):
        row = e[k]
        for j in range(e.shape[1]):
            row[j] /= total[j]


@njit(cache=True, nogil=True, error_model="numpy")
def weighted_squares(r: np.ndarray, x: np.ndarray, m: np.ndarray, out: np.ndarray) -> None:
    """out[k] = r[k] * (x - m_k)^2, as numpy's r * (x - m[:, None]) ** 2."""
    for k in range(out.shape[0]):
        mk = m[k]
        rk = r[k]
        row = out[k]
        for j in range(x.shape[0]):
            d = x[j] - mk
            row[j] = rk[j] * (d * d)
