"""Survival quantities of a piecewise-constant hazard, exactly, for arrays of posterior draws.

Hazards are per month on intervals given by `edges` (0, cuts..., end of follow-up). Nothing is
extrapolated beyond the end of follow-up: a median the curve does not reach by then is `inf`
("not reached"), and S(t) or RMST(t) for t past the end is NaN.
"""

from __future__ import annotations

import numpy as np

LOG2 = float(np.log(2.0))


def cumulative_hazard(log_h: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """H at each edge: shape (..., K + 1), H[..., 0] = 0."""
    steps = np.exp(log_h) * np.diff(edges)
    big_h = np.zeros((*steps.shape[:-1], steps.shape[-1] + 1))
    for k in range(steps.shape[-1]):  # K columns: faster than cumsum along a short last axis
        np.add(big_h[..., k], steps[..., k], out=big_h[..., k + 1])
    return big_h


def survival_at(
    t: float, log_h: np.ndarray, edges: np.ndarray, big_h: np.ndarray | None = None
) -> np.ndarray:
    """S(t) = exp(-H(t)) for one time t (months); `big_h` is `cumulative_hazard(log_h, edges)`
    when already computed."""
    if t < 0 or t > edges[-1]:
        return np.full(log_h.shape[:-1], np.nan)
    k = int(np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 2))
    big_h = cumulative_hazard(log_h, edges) if big_h is None else big_h
    return np.exp(-(big_h[..., k] + np.exp(log_h[..., k]) * (t - edges[k])))


def median_survival(
    log_h: np.ndarray, edges: np.ndarray, big_h: np.ndarray | None = None
) -> np.ndarray:
    """Time at which S = 0.5 (H = log 2), by exact inversion; inf if not reached by the end."""
    big_h = cumulative_hazard(log_h, edges) if big_h is None else big_h
    reached = big_h[..., -1] >= LOG2
    # first interval whose end has H >= log 2
    k = np.argmax(big_h[..., 1:] >= LOG2, axis=-1)
    h_start = np.take_along_axis(big_h, k[..., None], axis=-1)[..., 0]
    rate = np.exp(np.take_along_axis(log_h, k[..., None], axis=-1)[..., 0])
    t = edges[k] + (LOG2 - h_start) / rate
    return np.where(reached, t, np.inf)


def rmst(
    tau: float, log_h: np.ndarray, edges: np.ndarray, big_h: np.ndarray | None = None
) -> np.ndarray:
    """Restricted mean survival time to tau months: the integral of S from 0 to tau."""
    if tau <= 0 or tau > edges[-1]:
        return np.full(log_h.shape[:-1], np.nan)
    lo = edges[:-1]
    hi = np.minimum(edges[1:], tau)
    width = np.clip(hi - lo, 0.0, None)
    h = np.exp(log_h)
    big_h = cumulative_hazard(log_h, edges) if big_h is None else big_h
    s_lo = np.exp(-big_h[..., :-1])
    # integral over [lo, lo + w] of s_lo * exp(-h (t - lo)) dt
    part = s_lo * np.where(h * width > 1e-12, -np.expm1(-h * width) / h, width)
    return part.sum(axis=-1)


def survival_curve(times: np.ndarray, log_h: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """S at several times: shape (..., len(times)); NaN at times past the end (as
    `survival_at`, all times at once)."""
    times = np.asarray(times, dtype=float)
    big_h = cumulative_hazard(log_h, edges)
    k = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, len(edges) - 2)
    s = np.exp(-(big_h[..., k] + np.exp(log_h[..., k]) * (times - edges[k])))
    return np.where((times < 0) | (times > edges[-1]), np.nan, s)
