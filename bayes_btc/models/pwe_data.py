"""Piecewise-exponential reshaping: patient rows -> events and exposure per arm x interval.

These are the sufficient statistics of the piecewise-exponential likelihood (Poisson on event
counts with log-exposure offsets), so model cost does not grow with the number of patients.
Cut points are internal: 0 and the end of follow-up are added, never given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayes_btc.errors import InputError


@dataclass(frozen=True)
class PWETable:
    """Events and exposure (months) per arm (0 treatment, 1 control) x interval."""

    cuts: np.ndarray  # internal cut points, months
    end: float  # end of follow-up (largest time), months
    events: np.ndarray  # (2, K) int
    exposure: np.ndarray  # (2, K) float, months

    @property
    def edges(self) -> np.ndarray:
        """Interval boundaries 0, cuts..., end."""
        return np.concatenate([[0.0], self.cuts, [self.end]])

    @property
    def n_intervals(self) -> int:
        return len(self.cuts) + 1


def validate_cuts(
    cuts: list[float] | np.ndarray, end: float, where: str = "cut points"
) -> np.ndarray:
    """Internal cut points: finite, positive, strictly increasing, and below the end of
    follow-up. The message says how to fix each problem."""
    c = np.asarray(cuts, dtype=float)
    if c.ndim != 1 or not np.all(np.isfinite(c)):
        raise InputError(f"{where}: give a list of finite numbers (months)")
    if np.any(c <= 0):
        raise InputError(
            f"{where}: give only internal cut points > 0; 0 and the end of follow-up are added"
        )
    if np.any(np.diff(c) <= 0):
        raise InputError(f"{where}: must be strictly increasing, e.g. [2, 4, 6]; got {c.tolist()}")
    if len(c) and c[-1] >= end:
        raise InputError(
            f"{where}: {c[-1]:g} is not below the end of follow-up ({end:g} "
            "months); drop the cut points at or after it"
        )
    return c


def cuts_by_events(
    time: np.ndarray,
    event: np.ndarray,
    per_interval: int,
    max_intervals: int,
    arm: np.ndarray | None = None,
) -> np.ndarray:
    """Cut points at quantiles of the event times, about `per_interval` events per interval
    (at most `max_intervals` intervals). Fine cuts keep the baseline flexible, so the PH
    log-HR stays close to Cox's, which leaves the baseline completely free.

    With `arm` (0/1 per patient), the cuts stop at the end of follow-up of the arm followed
    for less long (`common_end`): the last interval then always holds both arms, never one
    arm alone beyond the other's last patient."""
    t = np.sort(time[event == 1])
    k = int(np.clip(len(t) // max(per_interval, 1), 1, max_intervals))
    if k == 1:
        return np.empty(0)
    q = np.quantile(t, np.arange(1, k) / k)
    q = np.unique(np.round(q, 6))
    limit = time.max() if arm is None else common_end(time, arm)
    return q[(q > 0) & (q < limit)]


def common_end(time: np.ndarray, arm: np.ndarray) -> float:
    """The shorter of the two arms' ends of follow-up (months): the last time both arms have
    patients at risk."""
    ends = [time[arm == a].max() for a in np.unique(arm)]
    return float(min(ends))


def pwe_table(time: np.ndarray, event: np.ndarray, arm: np.ndarray, cuts: np.ndarray) -> PWETable:
    """Events and exposure per arm x interval; `arm` is 0 (treatment) or 1 (control).

    Patient i contributes min(max(t_i - lo_k, 0), hi_k - lo_k) months to interval k and its
    event (if any) to the interval containing t_i (intervals are (lo, hi], the first [0, hi]).
    """
    end = float(time.max())
    cuts = validate_cuts(cuts, end)
    edges = np.concatenate([[0.0], cuts, [end]])
    k = len(edges) - 1
    events = np.zeros((2, k), dtype=np.int64)
    exposure = np.zeros((2, k))
    interval = np.clip(np.searchsorted(edges, time, side="left") - 1, 0, k - 1)
    for a in (0, 1):
        m = arm == a
        events[a] = np.bincount(interval[m], weights=event[m], minlength=k).astype(np.int64)
        # full intervals before the patient's own, then the part of the own interval
        full = np.diff(edges)
        counts = np.bincount(interval[m], minlength=k)
        n_beyond = counts[::-1].cumsum()[::-1]  # patients whose interval index >= j
        exposure[a] = full * np.concatenate([n_beyond[1:], [0]])
        partial = time[m] - edges[interval[m]]
        exposure[a] += np.bincount(interval[m], weights=partial, minlength=k)
    return PWETable(cuts, end, events, exposure)
