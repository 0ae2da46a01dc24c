"""Reconstruction calibration table: bias and spread of P(NI) from pseudo-patients
reconstructed from each simulated trial's printed summary, and from the summary-level log-HR
model, against the PWE PH fit of the same trial's real (simulated) patients."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_btc.simulation.calibration import CalibrationTask
from bayes_btc.simulation.pwe_sim import PWESimModel
from bayes_btc.simulation.scaleout import ChunkTask
from bayes_btc.simulation.survival_sim import SurvivalTruth

CALIBRATION_COLUMNS = [
    "endpoint",
    "prior",
    "scenario",
    "effect",
    "n_trials",
    "n_reconstructed",
    "mean_p_real",
    "bias_reconstructed",
    "sd_reconstructed",
    "bias_loghr_summary",
    "sd_loghr_summary",
]


def calibration_tasks(
    scenarios: list[tuple[str, SurvivalTruth, PWESimModel, tuple[float, ...], float]],
    chunk_tasks_: list[ChunkTask],
    sims: int,
    n_sets: int,
) -> list[CalibrationTask]:
    """Calibration chunks for the PWE PH scenarios at HR 1 and at the margin (`sims` trials each),
    at each endpoint's first true control median only, built on the simulation chunks'
    settings (same model, cuts, conduct and seed)."""
    if sims == 0:
        return []
    first = {t.scenario: t for t in chunk_tasks_ if t.chunk == 0}
    first_median: dict[str, float] = {}
    out = []
    for s, (e, truth, model, _, margin) in enumerate(scenarios):
        if (
            first_median.setdefault(e, truth.control_median) != truth.control_median
            or model.variant != "ph"
            or truth.late_hr is not None
            or not any(abs(truth.hr - v) < 1e-9 for v in (1.0, margin))
        ):
            continue
        base = first[s]
        for c, start in enumerate(range(0, sims, base.conduct.chunk)):
            n = min(base.conduct.chunk, sims - start)
            chunk = ChunkTask(
                s, c, n, truth, base.conduct, base.model, base.cuts, margin, base.seed
            )
            out.append(CalibrationTask(chunk, n_sets))
    return out


def calibration_table(
    scenarios: list[tuple[str, SurvivalTruth, PWESimModel, tuple[float, ...], float]],
    tasks: list[CalibrationTask],
    results: dict[str, np.ndarray],
) -> pd.DataFrame:
    """One row per endpoint x prior x calibrated scenario (differences on the P(NI) scale)."""
    rows = []
    by_scenario: dict[int, list[np.ndarray]] = {}
    for t in sorted(tasks, key=lambda t: (t.chunk.scenario, t.chunk.chunk)):
        by_scenario.setdefault(t.chunk.scenario, []).append(results[t.key])
    for s, parts in by_scenario.items():
        e, truth, model, _, _ = scenarios[s]
        arr = np.concatenate(parts)  # (trial, source, prior)
        for j, prior in enumerate(model.names):
            real, rec, summ = arr[:, 0, j], arr[:, 1, j], arr[:, 2, j]
            ok_rec, ok_sum = np.isfinite(rec), np.isfinite(summ)
            d_rec, d_sum = (rec - real)[ok_rec], (summ - real)[ok_sum]
            rows.append(
                {
                    "endpoint": e,
                    "prior": prior,
                    "scenario": f"median={truth.control_median:.4g} hr={truth.hr:.4g}",
                    "effect": truth.hr,
                    "n_trials": len(real),
                    "n_reconstructed": int(ok_rec.sum()),
                    "mean_p_real": float(real.mean()),
                    "bias_reconstructed": float(d_rec.mean()) if d_rec.size else np.nan,
                    "sd_reconstructed": float(d_rec.std(ddof=1)) if d_rec.size > 1 else np.nan,
                    "bias_loghr_summary": float(d_sum.mean()) if d_sum.size else np.nan,
                    "sd_loghr_summary": float(d_sum.std(ddof=1)) if d_sum.size > 1 else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)
