"""The tidy posterior summary (summary.csv): mean, SD, 95% equal-tailed interval, r_hat and
bulk/tail ESS of every quantity of every fitted cell."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from bayes_btc.inference.mcmc_stats import ess_tail, rhat_ess_bulk
from bayes_btc.models.fit import Fit

CHUNK = 256  # quantities per vectorised batch (bounds the memory of the FFT)
THREADS = 2  # batches diagnosed at once

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

    r_hat and ESS are computed for all finite (chain, draw) arrays of one shape at once
    (`mcmc_stats`); the values equal ArviZ's `rhat`, `ess` and `ess(method="tail")`."""
    cells = [(f, q, d) for f in fits for q, d in f.draws.items()]
    rows = [
        {
            "endpoint": f.endpoint,
            "model": f.model,
            "prior": f.prior,
            "quantity": q,
            **quantity_summary(d, diagnose=False),
        }
        for f, q, d in cells
    ]
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, (f, _, d) in enumerate(cells):
        if not f.pooled and np.isfinite(rows[i]["mean"]):
            groups.setdefault(tuple(d.shape), []).append(i)
    parts = [idx[s : s + CHUNK] for idx in groups.values() for s in range(0, len(idx), CHUNK)]

    def diagnose(part: list[int]) -> list[tuple[float, float, float]]:
        x = np.stack([np.asarray(cells[i][2].values, dtype=float) for i in part])
        return list(zip(*rhat_ess_bulk(x), ess_tail(x), strict=True))

    # numpy's sorts and FFTs release the GIL: batches run on THREADS threads, same numbers
    with ThreadPoolExecutor(THREADS) as pool:
        for part, stats in zip(parts, pool.map(diagnose, parts), strict=True):
            for i, (r, b, t) in zip(part, stats, strict=True):
                rows[i] |= {"r_hat": float(r), "ess_bulk": float(b), "ess_tail": float(t)}
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
