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

from bayes_btc.mixtures import BetaMixture, NormalMixture
from bayes_btc.models.beta_binomial import MODEL as BETA_BINOMIAL
from bayes_btc.models.loghr_summary import READINGS
from bayes_btc.pwe_data import PWETable
from bayes_btc.survival import median_survival, rmst, survival_at, survival_curve

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
    priors: dict[str, BetaMixture | NormalMixture] = field(default_factory=dict, repr=False)
    # the cell's priors: "log_hr", or "rate_<arm>" per arm (conjugate fits)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.endpoint, self.model, self.prior


def _merged(w: np.ndarray, *params: np.ndarray) -> tuple[tuple[float, ...], ...]:
    """Mixture components with identical parameters merged (undoes the models' padding)."""
    out: dict[tuple[float, ...], float] = {}
    for i, key in enumerate(zip(*(p.tolist() for p in params), strict=True)):
        out[key] = out.get(key, 0.0) + float(w[i])
    return tuple(out.values()), *(tuple(k[j] for k in out) for j in range(len(params)))


def normal_prior(c: xr.Dataset) -> NormalMixture:
    """The log-HR prior of one cell from its constant data (prior_w, prior_mean, prior_sd)."""
    w, m, s = _merged(c["prior_w"].values, c["prior_mean"].values, c["prior_sd"].values)
    return NormalMixture(w, m, s)


def beta_prior(c: xr.Dataset) -> BetaMixture:
    """The rate prior of one cell and arm from its constant data (prior_w, prior_a, prior_b)."""
    w, a, b = _merged(c["prior_w"].values, c["prior_a"].values, c["prior_b"].values)
    return BetaMixture(w, a, b)


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
                prior = normal_prior(c)
                inputs = {"y": float(c["y"]), "se": float(c["se"])}
                if prior.n_components == 1:
                    inputs |= {"prior_mean": prior.means[0], "prior_sd": prior.sds[0]}
                draws = {"hr": cell["hr"], "log_hr": cell["log_hr"]}
                fits.append(Fit(str(e), model, str(p), family, draws, inputs, {"log_hr": prior}))
    return fits


def fits_from_beta_binomial(tree: xr.DataTree) -> list[Fit]:
    """Split the batched beta-binomial fit into one Fit per endpoint x prior."""
    post, const = tree["posterior"].to_dataset(), tree["constant_data"].to_dataset()
    family = str(tree["posterior"].attrs.get("model_family", BETA_BINOMIAL))
    arms = [str(a) for a in post["arm"].values]
    fits = []
    for e in post["endpoint"].values:
        for p in post["prior"].values:
            c = const.sel(endpoint=e, prior=p)
            if "prior_applies" in c and not bool(c["prior_applies"]):
                continue  # a placeholder cell: this prior has no version for this endpoint
            cell = post.sel(endpoint=e, prior=p)
            draws = {f"rate_{a}": cell["rate"].sel(arm=a) for a in arms}
            draws["rate_diff"] = cell["rate_diff"]
            priors = {f"rate_{a}": beta_prior(c.sel(arm=a)) for a in arms}
            inputs: dict[str, float] = {}
            first, second = priors.values()
            if first == second and first.n_components == 1:
                inputs |= {"prior_a": first.a[0], "prior_b": first.b[0]}
            for i, a in enumerate(arms):
                inputs[f"events_{i}"] = float(c["events"].sel(arm=a))
                inputs[f"n_{i}"] = float(c["n"].sel(arm=a))
            fits.append(Fit(str(e), BETA_BINOMIAL, str(p), family, draws, inputs, priors))
    return fits


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
    Pooled fits (over reconstructed sets) get no r_hat or ESS here: see `worst_per_set`."""
    rows = [
        {
            "endpoint": f.endpoint,
            "model": f.model,
            "prior": f.prior,
            "quantity": q,
            **quantity_summary(d, diagnose="n_sets" not in f.inputs),
        }
        for f in fits
        for q, d in f.draws.items()
    ]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def pwe_quantities(
    log_h_t: np.ndarray,
    log_h_c: np.ndarray,
    edges: np.ndarray,
    arms: tuple[str, str],
    landmarks: list[float],
    horizon: float,
) -> dict[str, np.ndarray]:
    """Medians, S(t) at landmarks and RMST per arm (and its difference), per draw."""
    out: dict[str, np.ndarray] = {}
    for arm, lh in zip(arms, (log_h_t, log_h_c), strict=True):
        out[f"median_{arm}"] = median_survival(lh, edges)
        for t in landmarks:
            out[f"s{t:g}_{arm}"] = survival_at(t, lh, edges)
        out[f"rmst_{arm}"] = rmst(horizon, lh, edges)
    out["rmst_diff"] = out[f"rmst_{arms[0]}"] - out[f"rmst_{arms[1]}"]
    return out


def fits_from_pwe(
    tree: xr.DataTree,
    tables: dict[str, PWETable],
    arms: tuple[str, str],
    model: str,
    landmarks: list[float],
    horizon: float,
) -> list[Fit]:
    """One Fit per endpoint x prior of a batched PWE fit, with the survival quantities."""
    post = tree["posterior"].to_dataset()
    family = str(tree["posterior"].attrs.get("model_family", model))
    fits = []
    for e, table in tables.items():
        k = table.n_intervals
        for p in post["prior"].values:
            cell = post.sel(endpoint=e, prior=p)
            dims = ("chain", "draw")
            log_h0 = cell["log_h0"].values[..., :k]
            if "log_hr_interval" in cell:
                log_hr_k = cell["log_hr_interval"].values[..., :k]
            else:
                log_hr_k = np.repeat(cell["log_hr"].values[..., None], k, axis=-1)
            draws = {"hr": cell["hr"], "log_hr": cell["log_hr"]}
            derived = pwe_quantities(
                log_h0 + log_hr_k, log_h0, table.edges, arms, landmarks, horizon
            )
            draws |= {q: xr.DataArray(v, dims=dims) for q, v in derived.items()}
            if "log_hr_interval" in cell:
                for i in range(k):
                    draws[f"hr_interval_{i + 1}"] = xr.DataArray(
                        np.exp(log_hr_k[..., i]), dims=dims
                    )
            inputs = {"n_intervals": float(k), "events": float(table.events.sum())}
            fits.append(Fit(e, model, str(p), family, draws, inputs))
    return fits


def survival_bands(
    tree: xr.DataTree, table: PWETable, endpoint: str, prior: str, times: np.ndarray
) -> dict[str, np.ndarray]:
    """Posterior S(t) per arm ("treatment", "control") at `times`: rows 2.5%, 50%, 97.5%."""
    cell = tree["posterior"].to_dataset().sel(endpoint=endpoint, prior=prior)
    k = table.n_intervals
    log_h0 = cell["log_h0"].values[..., :k].reshape(-1, k)
    if "log_hr_interval" in cell:
        log_hr = cell["log_hr_interval"].values[..., :k].reshape(-1, k)
    else:
        log_hr = np.repeat(cell["log_hr"].values.reshape(-1, 1), k, axis=-1)
    out = {}
    for arm, lh in (("treatment", log_h0 + log_hr), ("control", log_h0)):
        curves = survival_curve(times, lh, table.edges)
        out[arm] = np.quantile(curves, [0.025, 0.5, 0.975], axis=0)
    return out
