"""Simulated patient-level two-arm survival trials and their PWE sufficient statistics.

Patients enter uniformly over `accrual_months`; the analysis is `follow_up_months` after the
last entry (administrative censoring); dropout is exponential (`dropout_per_year` lost in a
year). Event times are exponential with the control hazard log(2) / median (per month) times
the HR in the treatment arm; a non-PH scenario switches to a late HR after `change_months`.
Events and exposure are then counted per arm x interval at fixed cut points (the last
interval open), so every simulated trial has the same shapes and one compiled model fits all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bayes_btc.inputs.oc_settings import SurvivalScenarios


@dataclass(frozen=True)
class SurvivalTruth:
    """One survival scenario: true control median (months), HR (and late HR), arm sizes."""

    control_median: float
    hr: float
    late_hr: float | None
    n_t: int
    n_c: int


def simulate_patients(
    truth: SurvivalTruth, conduct: SurvivalScenarios, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time months, event 0/1, arm 0 treatment / 1 control) of one simulated trial."""
    arm = np.repeat([0, 1], [truth.n_t, truth.n_c])
    n = len(arm)
    lam = math.log(2) / truth.control_median
    e = rng.exponential(1.0, n)  # unit exponential: cumulative hazard at the event
    h1 = lam * np.where(arm == 0, truth.hr, 1.0)
    t_event = e / h1
    if truth.late_hr is not None:
        h2 = lam * np.where(arm == 0, truth.late_hr, 1.0)
        at_change = h1 * conduct.change_months
        late = e > at_change
        t_event = np.where(late, conduct.change_months + (e - at_change) / h2, t_event)
    entry = rng.uniform(0.0, conduct.accrual_months, n)
    admin = conduct.accrual_months + conduct.follow_up_months - entry
    if conduct.dropout_per_year > 0:
        rate = -math.log(1.0 - conduct.dropout_per_year) / 12.0
        dropout = rng.exponential(1.0 / rate, n)
    else:
        dropout = np.full(n, np.inf)
    time = np.minimum.reduce([t_event, admin, dropout])
    event = (t_event <= np.minimum(admin, dropout)).astype(np.int64)
    return time, event, arm


def sufficient_stats(
    time: np.ndarray, event: np.ndarray, arm: np.ndarray, cuts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(events, exposure months), each (2 arms, K intervals); intervals (lo, hi], last open."""
    lo = np.concatenate([[0.0], cuts])
    hi = np.concatenate([cuts, [np.inf]])
    expo = np.clip(time[:, None] - lo[None, :], 0.0, (hi - lo)[None, :])  # (n, K)
    k = np.clip(np.searchsorted(cuts, time, side="left"), 0, len(cuts))
    events, exposure = np.zeros((2, len(lo))), np.zeros((2, len(lo)))
    for a in (0, 1):
        m = arm == a
        events[a] = np.bincount(k[m], weights=event[m], minlength=len(lo))
        exposure[a] = expo[m].sum(axis=0)
    return events, exposure


def design_cuts(
    control_median: float, n_patients: int, events_per_interval: int, max_intervals: int
) -> np.ndarray:
    """Fixed internal cut points (months) at quantiles of the control's exponential event
    times, about `events_per_interval` expected events per interval (if all had an event)."""
    k = int(np.clip(n_patients // max(events_per_interval, 1), 1, max_intervals))
    q = np.arange(1, k) / k
    return -control_median / math.log(2) * np.log1p(-q)
