"""Pooling fits over reconstructed data sets, and how much they disagree.

Each reconstructed data set is one draw of "data consistent with the abstract"; fitting each
and pooling the posterior draws (equal weight per set) integrates over that uncertainty. The
spread of P(NI) across sets shows how much the reconstruction, not the data, drives it.
Per-set fits carry their set number in `Fit.dataset`; pooled fits have none.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import xarray as xr

from bayes_btc.decisions.rules import EndpointRules, probability
from bayes_btc.models.fit import Fit

SPREAD_COLUMNS = [
    "endpoint",
    "model",
    "prior",
    "estimand",
    "margin",
    "pooled",
    "min",
    "q25",
    "median",
    "q75",
    "max",
    "sd",
    "n_sets",
]


def pool(set_fits: list[Fit]) -> list[Fit]:
    """One Fit per (endpoint, model, prior): the per-set draws concatenated along `draw`."""
    groups: dict[tuple[str, str, str], list[Fit]] = {}
    for f in set_fits:
        groups.setdefault(f.key, []).append(f)
    pooled = []
    for (endpoint, _, _), fits in groups.items():
        draws = {
            q: xr.DataArray(
                np.concatenate([np.asarray(f.draws[q].values) for f in fits], axis=1),
                dims=("chain", "draw"),
            )
            for q in fits[0].draws
            if all(q in f.draws for f in fits)
        }
        inputs = {"n_sets": float(len(fits))}
        pooled.append(replace(fits[0], endpoint=endpoint, draws=draws, inputs=inputs, dataset=None))
    return pooled


def worst_per_set(pooled_summary: pd.DataFrame, set_summary: pd.DataFrame) -> pd.DataFrame:
    """Replace r_hat and ESS of pooled rows by the worst over the sets (pooled draws from
    different data sets are not one Markov chain, so their own r_hat would mislead)."""
    worst = set_summary.groupby(["endpoint", "model", "prior", "quantity"], sort=False).agg(
        r_hat=("r_hat", "max"), ess_bulk=("ess_bulk", "min"), ess_tail=("ess_tail", "min")
    )
    key = ["endpoint", "model", "prior", "quantity"]
    out = pooled_summary.merge(
        worst, left_on=key, right_index=True, how="left", suffixes=("", "_worst")
    )
    for c in ("r_hat", "ess_bulk", "ess_tail"):
        out[c] = out[f"{c}_worst"].where(out[f"{c}_worst"].notna(), out[c])
    return out[pooled_summary.columns]


def spread_table(
    set_fits: list[Fit], pooled: list[Fit], rules: dict[str, EndpointRules]
) -> pd.DataFrame:
    """P(NI) at the plan's margins: pooled, and its distribution across reconstructed sets."""
    per_set: dict[tuple, list[float]] = {}
    for f in set_fits:
        for rule in rules[f.endpoint].primary(f):
            key = (f.endpoint, f.model, f.prior, rule.estimand, rule.margin)
            per_set.setdefault(key, []).append(probability(f, rule))
    pooled_p = {
        (f.endpoint, f.model, f.prior, r.estimand, r.margin): probability(f, r)
        for f in pooled
        for r in rules[f.endpoint].primary(f)
    }
    rows = []
    for key, ps in per_set.items():
        a = np.asarray(ps)
        q = np.quantile(a, [0.25, 0.5, 0.75])
        rows.append(
            dict(
                zip(
                    SPREAD_COLUMNS,
                    [
                        *key,
                        pooled_p[key],
                        a.min(),
                        q[0],
                        q[1],
                        q[2],
                        a.max(),
                        a.std(ddof=1),
                        len(a),
                    ],
                    strict=True,
                )
            )
        )
    return pd.DataFrame(rows, columns=SPREAD_COLUMNS)
