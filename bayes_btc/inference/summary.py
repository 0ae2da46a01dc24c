"""The tidy posterior summary (summary.csv): mean, SD, 95% equal-tailed interval, r_hat and
bulk/tail ESS of every quantity of every fitted cell."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from bayes_btc.inference.cell_stats import SUMMARY_PROBS, sorted_quantiles, summarise
from bayes_btc.models.fit import Fit
from bayes_btc.threads import threaded_map

CHUNK_VALUES = 2**20  # draws per vectorised batch (bounds its memory: ~10 arrays of 8 MB)

SUMMARY_COLUMNS = [
    "endpoint",
    "model",
    "prior",
    "quantity",
    "mean",
    "sd",
    "q2.5",
    "q50",
    "q97.5",
    "r_hat",
    "ess_bulk",
    "ess_tail",
]


def quantity_summary(draws: xr.DataArray, diagnose: bool = True) -> dict[str, float]:
    """Mean, sd, 2.5/50/97.5% quantiles, r_hat and bulk/tail ESS of one (chain, draw) array.

    A median not reached in some draws is inf there: quantiles keep it (a q97.5 of inf reads
    "not reached"), while mean, sd, r_hat and ESS are NaN, as they are undefined. Without
    `diagnose`, r_hat and ESS are NaN (for pooled draws, whose diagnostics come per set)."""
    x = np.asarray(draws.values, dtype=float)
    finite = bool(np.all(np.isfinite(x)))
    if finite:
        q = np.quantile(x, [0.025, 0.5, 0.975])
    else:  # order statistics, so that inf stays inf (no inf - inf interpolation)
        xs = np.sort(x, axis=None)
        q = xs[np.clip(np.ceil(np.array([0.025, 0.5, 0.975]) * xs.size).astype(int) - 1, 0, None)]
    if not finite:
        nan = float("nan")
        keys = ("mean", "sd", "r_hat", "ess_bulk", "ess_tail")
        return {"q2.5": float(q[0]), "q50": float(q[1]), "q97.5": float(q[2])} | dict.fromkeys(
            keys, nan
        )
    nan = float("nan")
    import arviz as az  # only for the rare draws this path takes: not loaded on the default run

    return {
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)),
        "q2.5": float(q[0]),
        "q50": float(q[1]),
        "q97.5": float(q[2]),
        "r_hat": float(az.rhat(draws)) if diagnose else nan,
        "ess_bulk": float(az.ess(draws)) if diagnose else nan,
        "ess_tail": float(az.ess(draws, method="tail")) if diagnose else nan,
    }


def summary_table(fits: list[Fit]) -> pd.DataFrame:
    """The contract's summary.csv: one row per fit x quantity, 95% equal-tailed intervals.
    Pooled fits (over reconstructed sets) get no r_hat or ESS here: see `pooling.worst_per_set`.

    All finite (chain, draw) arrays of one shape are summarised together (`cell_stats`: one
    sort per quantity); the values equal ArviZ's `rhat`, `ess` and `ess(method="tail")` and
    numpy's quantiles of each array. Draws with an inf (a median not reached) keep the
    per-quantity path of `quantity_summary`."""
    cells = [(f, q, np.asarray(d.values, dtype=float)) for f in fits for q, d in f.draws.items()]
    rows = [
        {"endpoint": f.endpoint, "model": f.model, "prior": f.prior, "quantity": q}
        for f, q, _ in cells
    ]
    groups: dict[tuple, list[int]] = {}
    for i, (f, q, x) in enumerate(cells):
        if np.isfinite(x).all():
            groups.setdefault((x.shape, not f.pooled), []).append(i)
        else:
            rows[i] |= quantity_summary(f.draws[q], diagnose=False)
    parts = [
        (idx[s : s + step], diagnose)
        for (shape, diagnose), idx in groups.items()
        for step in [max(CHUNK_VALUES // math.prod(shape), 1)]
        for s in range(0, len(idx), step)
    ]

    def summarise_part(part: tuple[list[int], bool]) -> dict[str, np.ndarray]:
        idx, diagnose = part
        x = np.stack([cells[i][2] for i in idx])
        if diagnose:
            return summarise(x)
        flat = x.reshape(len(idx), -1)
        q = sorted_quantiles(np.sort(flat, axis=1), SUMMARY_PROBS)
        out = {"mean": flat.mean(axis=1), "sd": flat.std(axis=1, ddof=1)}
        return out | {f"q{k}": q[k] for k in range(len(SUMMARY_PROBS))}

    names = {"q0": "q2.5", "q1": "q50", "q2": "q97.5"}
    # numpy's sorts and the ESS kernel release the GIL: batches run one per core; each
    # quantity is computed on its own, so the numbers do not depend on threads or batches
    for (idx, _), stats in zip(parts, threaded_map(summarise_part, parts), strict=True):
        for k, i in enumerate(idx):
            rows[i] |= {names.get(c, c): float(v[k]) for c, v in stats.items()}
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
