"""Posterior draws under clinical names, and the tidy summary table (summary.csv).

Each fitted cell (endpoint x model x prior) of a batched model becomes one `Fit` holding its
draws per contract quantity (`hr`, `log_hr`, `rate_TP`, `rate_GP`, `rate_diff`), each a
(chain, draw) DataArray. Everything downstream works on these, never on model internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from bayes_btc.models.beta_binomial import MODEL as BETA_BINOMIAL
from bayes_btc.models.loghr_summary import READINGS

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


@dataclass(frozen=True)
class Fit:
    """One endpoint x model x prior cell: its draws and where they came from."""

    endpoint: str
    model: str
    prior: str
    family: str  # the compiled model family the cell belongs to
    draws: dict[str, xr.DataArray] = field(repr=False)  # quantity -> (chain, draw)
    inputs: dict[str, float] = field(repr=False)  # data and prior parameters of this cell

    @property
    def key(self) -> tuple[str, str, str]:
        return self.endpoint, self.model, self.prior


def _cell(tree: xr.DataTree, group: str, **sel: str) -> xr.Dataset:
    ds = tree[group].to_dataset()
    return ds.sel({k: v for k, v in sel.items() if k in ds.dims})


def fits_from_loghr(tree: xr.DataTree) -> list[Fit]:
    """Split the batched summary log-HR fit into one Fit per endpoint x reading x prior."""
    post, const = tree["posterior"].to_dataset(), tree["constant_data"].to_dataset()
    family = str(tree["posterior"].attrs.get("model_family", "loghr_summary"))
    fits = []
    for e in post["endpoint"].values:
        for reading, model in READINGS.items():
            for p in post["prior"].values:
                cell = post.sel(endpoint=e, reading=reading, prior=p)
                c = const.sel(endpoint=e, reading=reading, prior=p)
                inputs = {
                    "prior_mean": float(c["prior_mean"]),
                    "prior_sd": float(c["prior_sd"]),
                    "y": float(c["y"]),
                    "se": float(c["se"]),
                }
                draws = {"hr": cell["hr"], "log_hr": cell["log_hr"]}
                fits.append(Fit(str(e), model, str(p), family, draws, inputs))
    return fits


def fits_from_beta_binomial(tree: xr.DataTree) -> list[Fit]:
    """Split the batched beta-binomial fit into one Fit per endpoint x prior."""
    post, const = tree["posterior"].to_dataset(), tree["constant_data"].to_dataset()
    family = str(tree["posterior"].attrs.get("model_family", BETA_BINOMIAL))
    arms = [str(a) for a in post["arm"].values]
    fits = []
    for e in post["endpoint"].values:
        for p in post["prior"].values:
            cell = post.sel(endpoint=e, prior=p)
            c = const.sel(endpoint=e, prior=p)
            draws = {f"rate_{a}": cell["rate"].sel(arm=a) for a in arms}
            draws["rate_diff"] = cell["rate_diff"]
            inputs = {"prior_a": float(c["prior_a"]), "prior_b": float(c["prior_b"])}
            for i, a in enumerate(arms):
                inputs[f"events_{i}"] = float(c["events"].sel(arm=a))
                inputs[f"n_{i}"] = float(c["n"].sel(arm=a))
            fits.append(Fit(str(e), BETA_BINOMIAL, str(p), family, draws, inputs))
    return fits


def quantity_summary(draws: xr.DataArray) -> dict[str, float]:
    """Mean, sd, 2.5/50/97.5% quantiles, r_hat and bulk/tail ESS of one (chain, draw) array."""
    x = np.asarray(draws.values, dtype=float)
    q = np.quantile(x, [0.025, 0.5, 0.975])
    return {
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)),
        "q2.5": float(q[0]),
        "q50": float(q[1]),
        "q97.5": float(q[2]),
        "r_hat": float(az.rhat(draws)),
        "ess_bulk": float(az.ess(draws)),
        "ess_tail": float(az.ess(draws, method="tail")),
    }


def summary_table(fits: list[Fit]) -> pd.DataFrame:
    """The contract's summary.csv: one row per fit x quantity, 95% equal-tailed intervals."""
    rows = [
        {
            "endpoint": f.endpoint,
            "model": f.model,
            "prior": f.prior,
            "quantity": q,
            **quantity_summary(d),
        }
        for f in fits
        for q, d in f.draws.items()
    ]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
