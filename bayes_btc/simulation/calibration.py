"""Reconstruction calibration: what fitting pseudo-patients reconstructed from a published
summary costs, against fitting the trial's real patients.

Each simulated trial is "published" as an abstract would print it (arm sizes, KM medians, Cox
HR and its 95% CI), reconstructed from those numbers alone (rejection ABC,
`reconstruction/summary.py`, `n_sets` data sets), and every set fitted with the same PWE PH
model as the real patients (all trials and sets of a chunk at once, `pwe_sim.fit_trials`);
P(NI) of the sets is averaged (the pooled posterior). The summary-level log-HR posterior from
the printed HR and CI is computed beside them (exact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bayes_btc.errors import InputError
from bayes_btc.reconstruction.summary import (
    SummaryTarget,
    cox_binary,
    km_median,
    reconstruct_from_summary,
)
from bayes_btc.simulation.pwe_sim import fit_trials
from bayes_btc.simulation.scaleout import ChunkTask, run_chunk
from bayes_btc.simulation.survival_sim import simulate_patients, sufficient_stats

Z95 = 1.959963984540054


@dataclass(frozen=True)
class CalibrationTask:
    """A chunk of trials to publish, reconstruct and fit (`n_sets` data sets each)."""

    chunk: ChunkTask
    n_sets: int = 3
    max_sims: int = 50_000

    @property
    def key(self) -> str:
        return f"cal-{self.chunk.key}"


def published(time: np.ndarray, event: np.ndarray, arm: np.ndarray) -> tuple[float, ...] | None:
    """(median_t, median_c, HR, CI low, CI high) as printed, or None if a median is not reached
    or the Cox fit has no finite estimate."""
    t, c = arm == 0, arm == 1
    m_t = float(km_median(time[t][None], event[t][None])[0])
    m_c = float(km_median(time[c][None], event[c][None])[0])
    b, se = (float(v[0]) for v in cox_binary(time[None], event[None], (arm == 0).astype(float)))
    if not all(math.isfinite(v) for v in (m_t, m_c, b, se)):
        return None
    return m_t, m_c, math.exp(b), math.exp(b - Z95 * se), math.exp(b + Z95 * se)


def calibrate_chunk(task: CalibrationTask) -> np.ndarray:
    """(n trials, 3, prior) P(HR < margin): real patients, reconstruction, summary log-HR.
    Rows of trials that cannot be published or reconstructed are NaN, and so is the summary
    log-HR of a prior with a historical control median (that model has no baseline hazard).
    The real patients and every reconstructed set of the chunk are fitted at once."""
    ch = task.chunk
    rng = np.random.default_rng(np.random.SeedSequence((ch.seed, ch.scenario, ch.chunk, 1)))
    cuts = np.asarray(ch.cuts)
    priors = [p for _, p in ch.model.priors]
    medians = ch.model.control_median or (None,) * len(priors)
    out = np.full((ch.n, 3, len(priors)), np.nan)
    stats_: list[tuple[np.ndarray, np.ndarray]] = []  # real trials first, then every set
    sets_of: dict[int, list[int]] = {}  # trial -> indices of its reconstructed sets in stats_
    pending = []
    for i in range(ch.n):
        time, event, arm = simulate_patients(ch.truth, ch.conduct, rng)
        seed = int(rng.integers(0, 2**31 - 1))
        stats_.append(sufficient_stats(time, event, arm, cuts))
        pub = published(time, event, arm)
        if pub is None:
            continue
        m_t, m_c, hr, lo, hi = pub
        se = math.log(hi / lo) / (2 * Z95)
        bound = math.log(ch.margin_hr)
        out[i, 2] = [
            float(p.posterior(math.log(hr), se).cdf(bound)) if m is None else np.nan
            for p, m in zip(priors, medians, strict=True)
        ]
        target = SummaryTarget("sim", ch.truth.n_t, ch.truth.n_c, m_t, m_c, hr, (lo, hi))
        pending.append((i, target, seed))
    for i, target, seed in pending:
        try:
            ipd, _ = reconstruct_from_summary(target, task.n_sets, seed, task.max_sims)
        except InputError:
            continue
        for _, g in ipd.groupby("dataset", sort=True):
            a = (g["arm"].to_numpy() == target.control).astype(int)
            sets_of.setdefault(i, []).append(len(stats_))
            stats_.append(sufficient_stats(g["time"].to_numpy(), g["event"].to_numpy(), a, cuts))
    events = np.stack([s[0] for s in stats_])
    exposure = np.stack([s[1] for s in stats_])
    seed = int(rng.integers(0, 2**31 - 1))
    c = ch.conduct
    probs = fit_trials(ch.model, events, exposure, cuts, ch.margin_hr, seed, c.tune, c.draws)
    out[:, 0] = probs[: ch.n]
    for i, idx in sets_of.items():
        out[i, 1] = probs[idx].mean(axis=0)
    return out


def run_task(task: ChunkTask | CalibrationTask) -> np.ndarray:
    """Run a simulation chunk or a calibration chunk (one dask task function for both)."""
    return calibrate_chunk(task) if isinstance(task, CalibrationTask) else run_chunk(task)
