"""Piecewise-exponential (PWE) survival models on sufficient statistics, PH and non-PH.

    log h0[e, p, :] ~ GaussianRandomWalk(sigma = smoothing_sd)   (baseline log hazard / month)
    PH:     log h[e, p, a, k] = log h0[e, p, k] + log_hr[e, p] * (a == treatment)
    non-PH: log_hr[e, p, :] ~ GaussianRandomWalk(sigma = hr_smoothing_sd), its first interval
            under the named prior; reported log_hr = sum_k w[e, k] log_hr[e, p, k] with w the
            share of events per interval (an event-weighted average HR, as Cox's roughly is)
    events[e, a, k] ~ Poisson(exposure[e, a, k] * h[e, p, a, k])   (one copy per prior p)

Historical information on the control arm (a MAP prior on its log median, a normal mixture)
enters as an extra prior term on the control arm's median, which is computed exactly from the
piecewise hazards: the baseline prior is diffuse, so the prior on the median is close to the
MAP prior. A log-HR prior may be a normal mixture.

Time is in months, hazards per month. The named log-HR prior sits on `log_hr` (PH) or on the
first interval's log-HR (non-PH), from which the interval log-HRs walk. Endpoints with
different cut points share one model by padding intervals; only cells with exposure enter the
likelihood. The smoothing SDs are fixed by the
plan (centred random walks with a fixed step SD sample fast and without divergences).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from bayes_btc.inputs.datakey import DataKey
from bayes_btc.models.components import mixture_arrays, normal_mixture_rv
from bayes_btc.models.fit import Fit
from bayes_btc.models.pwe_data import PWETable
from bayes_btc.models.pwe_survival import (
    cumulative_hazard,
    median_survival,
    rmst,
    survival_at,
    survival_curve,
)
from bayes_btc.priors.mixtures import NormalMixture
from bayes_btc.threads import threaded_map

Variant = Literal["ph", "nonph"]
MODEL_NAMES: dict[str, str] = {"ph": "pwe_ph", "nonph": "pwe_nonph"}


@dataclass(frozen=True)
class PWEPriors:
    """Baseline and smoothing priors (log hazard per month; SDs per interval step)."""

    baseline_mean: float = -2.5
    baseline_sd: float = 2.5
    smoothing_sd: float = 0.3
    hr_smoothing_sd: float = 0.15


@dataclass(frozen=True)
class PWEData:
    """PWE tables of several endpoints, padded to a common number of intervals."""

    endpoints: list[str]
    tables: list[PWETable]

    @property
    def n_intervals(self) -> int:
        return max(t.n_intervals for t in self.tables)

    def padded(self, name: str) -> np.ndarray:
        """(endpoint, arm, interval) array of `events` or `exposure`, zero-padded."""
        out = np.zeros((len(self.tables), 2, self.n_intervals))
        for i, t in enumerate(self.tables):
            out[i, :, : t.n_intervals] = getattr(t, name)
        return out

    def interval_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(start, width) per (endpoint, interval), months; the last real interval is open
        (width 1e4) and padding intervals have width 0, for the exact median."""
        start, width = np.zeros((2, len(self.tables), self.n_intervals))
        for i, t in enumerate(self.tables):
            k = t.n_intervals
            start[i, :k] = t.edges[:-1]
            start[i, k:] = t.edges[-1]
            width[i, :k] = np.diff(t.edges)
            width[i, k - 1] = 1e4
        return start, width

    def event_weights(self) -> np.ndarray:
        """(endpoint, interval) share of all events falling in each interval."""
        ev = self.padded("events").sum(axis=1)
        total = ev.sum(axis=1, keepdims=True)
        return np.divide(ev, total, out=np.full_like(ev, 1.0 / ev.shape[1]), where=total > 0)


LOG2 = float(np.log(2.0))


def log_median(
    log_h: pt.TensorVariable, start: pt.TensorLike, width: pt.TensorLike
) -> pt.TensorVariable:
    """Log of the exact median of piecewise-constant hazards; log_h, start and width are
    (cell, interval). H crosses log 2 in exactly one real interval (the last one is open)."""
    h = pt.exp(log_h)
    n = log_h.shape[-1]
    upper = pt.triu(pt.ones((n, n)))  # cumulative sum as a product
    h_end = pt.dot(h * width, upper)
    h_start = h_end - h * width
    inside = (h_start < LOG2) & (h_end >= LOG2)
    t = start + (LOG2 - h_start) / h
    return pt.log(pt.sum(pt.switch(inside, t, 0.0), axis=-1))


def control_median_prior(
    data: PWEData, names: list[str], cells: dict[tuple[str, str], NormalMixture | None]
) -> tuple[np.ndarray, ...] | None:
    """(weights, means, sds) per (endpoint, prior, component) and a 0/1 mask, or None when no
    cell has a prior on the control median."""
    mixtures = [m for m in cells.values() if m is not None]
    if not mixtures:
        return None
    k = max(m.n_components for m in mixtures)
    shape = (len(data.endpoints), len(names), k)
    w, m, s = np.ones(shape) / k, np.zeros(shape), np.ones(shape)
    mask = np.zeros(shape[:2])
    for i, e in enumerate(data.endpoints):
        for j, p in enumerate(names):
            mix = cells.get((e, p))
            if mix is not None:
                w[i, j], m[i, j], s[i, j] = mix.padded(k)
                mask[i, j] = 1.0
    return w, m, s, mask


def build_pwe_model(
    data: PWEData,
    priors: dict[str, NormalMixture],
    variant: Variant,
    pwe_priors: PWEPriors = PWEPriors(),
    control_median: dict[tuple[str, str], NormalMixture | None] | None = None,
) -> pm.Model:
    """Declare the batched PH or non-PH model; `priors` maps names to log-HR priors and
    `control_median` (endpoint, prior) to a prior on the control arm's log median (months)."""
    n_e, n_p, n_k = len(data.endpoints), len(priors), data.n_intervals
    w, mean, sd = mixture_arrays(priors)
    coords = {
        "endpoint": data.endpoints,
        "prior": list(priors),
        "arm": ["treatment", "control"],
        "interval": np.arange(n_k),
        "component": np.arange(w.shape[-1]),
        "median_component": np.arange(
            max((m.n_components for m in (control_median or {}).values() if m), default=1)
        ),
    }
    events, exposure = data.padded("events"), data.padded("exposure")
    start, width = data.interval_bounds()
    with pm.Model(coords=coords) as model:
        prior_w = pm.Data("prior_w", w, dims=("prior", "component"))
        prior_mean = pm.Data("prior_mean", mean, dims=("prior", "component"))
        prior_sd = pm.Data("prior_sd", sd, dims=("prior", "component"))
        # every data-dependent array is a pm.Data: a compiled model takes another data set of
        # the same (padded) shape with nutpie's `with_data`, without recompiling
        exposure_d = pm.Data("exposure", exposure, dims=("endpoint", "arm", "interval"))
        events_d = pm.Data("events", events, dims=("endpoint", "arm", "interval"))
        start_d = pm.Data("interval_start", start, dims=("endpoint", "interval"))
        width_d = pm.Data("interval_width", width, dims=("endpoint", "interval"))
        ew_d = pm.Data("event_weights", data.event_weights(), dims=("endpoint", "interval"))
        log_h0 = pm.GaussianRandomWalk(
            "log_h0",
            init_dist=pm.Normal.dist(pwe_priors.baseline_mean, pwe_priors.baseline_sd),
            sigma=pwe_priors.smoothing_sd,
            dims=("endpoint", "prior", "interval"),
        )
        if variant == "ph":
            log_hr = normal_mixture_rv(
                "log_hr", prior_w, prior_mean, prior_sd, ("endpoint", "prior")
            )
            log_hr_k = pt.broadcast_to(log_hr[..., None], (n_e, n_p, n_k))
        else:
            w_k, m_k, s_k = (
                pt.broadcast_to(x, (n_e, n_p, x.shape[-1])) for x in (prior_w, prior_mean, prior_sd)
            )
            init = (
                pm.Normal.dist(m_k[..., 0], s_k[..., 0])
                if w.shape[-1] == 1
                else pm.NormalMixture.dist(w=w_k, mu=m_k, sigma=s_k)
            )
            log_hr_k = pm.GaussianRandomWalk(
                "log_hr_interval",
                init_dist=init,
                sigma=pwe_priors.hr_smoothing_sd,
                dims=("endpoint", "prior", "interval"),
            )
            ew = ew_d[:, None, :]
            pm.Deterministic("log_hr", (ew * log_hr_k).sum(axis=-1), dims=("endpoint", "prior"))
        median_prior = control_median_prior(data, list(priors), control_median or {})
        if median_prior is not None:
            mw, mm, ms, mask = median_prior
            pm.Data("control_median_w", mw, dims=("endpoint", "prior", "median_component"))
            pm.Data("control_median_mean", mm, dims=("endpoint", "prior", "median_component"))
            pm.Data("control_median_sd", ms, dims=("endpoint", "prior", "median_component"))
            pm.Data("control_median_applies", mask, dims=("endpoint", "prior"))
            ci, pi = np.nonzero(mask)  # only the cells with a median prior
            lm = log_median(log_h0[ci, pi], start_d[ci], width_d[ci])[:, None]
            mw, mm, ms = mw[ci, pi], mm[ci, pi], ms[ci, pi]
            z = (lm - mm) / ms
            logp = pt.logsumexp(np.log(mw) - 0.5 * z**2 - np.log(ms * np.sqrt(2 * np.pi)), axis=-1)
            pm.Potential("control_median_prior", logp.sum())
        # log hazard per (endpoint, prior, arm, interval)
        log_h = pt.stack([log_h0 + log_hr_k, log_h0], axis=2)
        # Poisson log-likelihood of the events per (endpoint, prior, arm, interval), up to a
        # constant: d log h - E exp(log h); cells with no exposure (padding) contribute 0
        d, e = events_d[:, None, :, :], exposure_d[:, None, :, :]
        pm.Potential("events_loglik", (d * log_h - e * pt.exp(log_h)).sum())
        pm.Deterministic("hr", pt.exp(model["log_hr"]), dims=("endpoint", "prior"))
    return model


def pwe_quantities(
    log_h_t: np.ndarray,
    log_h_c: np.ndarray,
    edges: np.ndarray,
    arms: tuple[str, str],
    landmarks: list[float],
    horizon: float,
) -> dict[str, np.ndarray]:
    """Medians, S(t) at landmarks and RMST per arm (and its difference), per draw (any
    leading dims: draws, or cells x draws)."""
    out: dict[str, np.ndarray] = {}
    for arm, lh in zip(arms, (log_h_t, log_h_c), strict=True):
        big_h = cumulative_hazard(lh, edges)  # once per arm, for every quantity
        out[f"median_{arm}"] = median_survival(lh, edges, big_h)
        for t in landmarks:
            out[f"s{t:g}_{arm}"] = survival_at(t, lh, edges, big_h)
        out[f"rmst_{arm}"] = rmst(horizon, lh, edges, big_h)
    out["rmst_diff"] = out[f"rmst_{arms[0]}"] - out[f"rmst_{arms[1]}"]
    return out


def fits_from_pwe(
    tree: xr.DataTree,
    tables: dict[DataKey, PWETable],
    arms: tuple[str, str],
    model: str,
    landmarks: list[float],
    horizon: float,
) -> list[Fit]:
    """One Fit per endpoint x prior of a batched PWE fit, with the survival quantities."""
    post = tree["posterior"].to_dataset()
    family = str(tree["posterior"].attrs.get("model_family", model))
    priors = post["prior"].values
    nonph = "log_hr_interval" in post

    def per_data_set(item: tuple[DataKey, PWETable]) -> list[Fit]:
        key, table = item
        k = table.n_intervals
        one = post.sel(endpoint=key.label)  # every prior at once: (prior, chain, draw, ...)
        log_h0 = one["log_h0"].transpose("prior", "chain", "draw", ...).values[..., :k]
        if nonph:
            log_hr_k = one["log_hr_interval"].transpose("prior", "chain", "draw", ...).values
            log_hr_k = log_hr_k[..., :k]
        else:
            log_hr = one["log_hr"].transpose("prior", "chain", "draw").values
            log_hr_k = np.repeat(log_hr[..., None], k, axis=-1)
        derived = pwe_quantities(log_h0 + log_hr_k, log_h0, table.edges, arms, landmarks, horizon)
        dims = ("chain", "draw")
        fits = []
        for j, p in enumerate(priors):
            draws = {q: one[q].sel(prior=p) for q in ("hr", "log_hr")}
            draws |= {q: xr.DataArray(v[j], dims=dims) for q, v in derived.items()}
            if nonph:
                for i in range(k):
                    draws[f"hr_interval_{i + 1}"] = xr.DataArray(
                        np.exp(log_hr_k[j, ..., i]), dims=dims
                    )
            inputs = {"n_intervals": float(k), "events": float(table.events.sum())}
            fits.append(
                Fit(key.endpoint, model, str(p), family, draws, inputs, dataset=key.dataset)
            )
        return fits

    # data sets in threads (numpy work, independent), fits in the order of `tables`
    fits = [f for batch in threaded_map(per_data_set, tables.items()) for f in batch]
    return fits


def survival_bands(
    tree: xr.DataTree, table: PWETable, key: DataKey, prior: str, times: np.ndarray
) -> dict[str, np.ndarray]:
    """Posterior S(t) per arm ("treatment", "control") at `times`: rows 2.5%, 50%, 97.5%."""
    cell = tree["posterior"].to_dataset().sel(endpoint=key.label, prior=prior)
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


def interval_hr_bands(
    tree: xr.DataTree, table: PWETable, key: DataKey, prior: str
) -> dict[str, np.ndarray]:
    """Posterior 2.5/50/97.5% of the HR in each interval of a non-PH fit ("lo", "median",
    "hi"), and of the event-weighted average HR ("average")."""
    post = tree["posterior"].to_dataset()
    if "log_hr_interval" not in post:
        raise ValueError("not a non-PH PWE fit: the tree has no log_hr_interval")
    k = table.n_intervals
    cell = post.sel(endpoint=key.label, prior=prior)
    log_hr = cell["log_hr_interval"].transpose("chain", "draw", "interval").values[..., :k]
    lo, med, hi = np.exp(np.quantile(log_hr.reshape(-1, k), [0.025, 0.5, 0.975], axis=0))
    avg = np.quantile(np.asarray(cell["hr"].values).ravel(), [0.025, 0.5, 0.975])
    return {"lo": lo, "median": med, "hi": hi, "average": avg}
