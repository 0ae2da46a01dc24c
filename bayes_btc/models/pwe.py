"""Piecewise-exponential (PWE) survival models on sufficient statistics, PH and non-PH.

    log h0[e, p, :] ~ GaussianRandomWalk(sigma = smoothing_sd)   (baseline log hazard / month)
    PH:     log h[e, p, a, k] = log h0[e, p, k] + log_hr[e, p] * (a == treatment)
    non-PH: log_hr[e, p, :] ~ GaussianRandomWalk(sigma = hr_smoothing_sd), its first interval
            under the named prior; reported log_hr = sum_k w[e, k] log_hr[e, p, k] with w the
            share of events per interval (an event-weighted average HR, as Cox's roughly is)
    events[e, a, k] ~ Poisson(exposure[e, a, k] * h[e, p, a, k])   (one copy per prior p)

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

from bayes_btc.pwe_data import PWETable

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

    def event_weights(self) -> np.ndarray:
        """(endpoint, interval) share of all events falling in each interval."""
        ev = self.padded("events").sum(axis=1)
        return ev / ev.sum(axis=1, keepdims=True)


def build_pwe_model(
    data: PWEData,
    priors: dict[str, tuple[float, float]],
    variant: Variant,
    pwe_priors: PWEPriors = PWEPriors(),
) -> pm.Model:
    """Declare the batched PH or non-PH model; `priors` maps names to log-HR (mean, sd)."""
    n_e, n_p, n_k = len(data.endpoints), len(priors), data.n_intervals
    coords = {
        "endpoint": data.endpoints,
        "prior": list(priors),
        "arm": ["treatment", "control"],
        "interval": np.arange(n_k),
    }
    events, exposure = data.padded("events"), data.padded("exposure")
    e_idx, a_idx, k_idx = np.nonzero(exposure > 0)
    with pm.Model(coords=coords) as model:
        prior_mean = pm.Data("prior_mean", np.array([m for m, _ in priors.values()]), dims="prior")
        prior_sd = pm.Data("prior_sd", np.array([s for _, s in priors.values()]), dims="prior")
        pm.Data("exposure", exposure, dims=("endpoint", "arm", "interval"))
        pm.Data("events", events, dims=("endpoint", "arm", "interval"))
        log_h0 = pm.GaussianRandomWalk(
            "log_h0",
            init_dist=pm.Normal.dist(pwe_priors.baseline_mean, pwe_priors.baseline_sd),
            sigma=pwe_priors.smoothing_sd,
            dims=("endpoint", "prior", "interval"),
        )
        if variant == "ph":
            log_hr = pm.Normal("log_hr", prior_mean, prior_sd, dims=("endpoint", "prior"))
            log_hr_k = pt.broadcast_to(log_hr[..., None], (n_e, n_p, n_k))
        else:
            log_hr_k = pm.GaussianRandomWalk(
                "log_hr_interval",
                init_dist=pm.Normal.dist(
                    pt.broadcast_to(prior_mean, (n_e, n_p)), pt.broadcast_to(prior_sd, (n_e, n_p))
                ),
                sigma=pwe_priors.hr_smoothing_sd,
                dims=("endpoint", "prior", "interval"),
            )
            w = pt.as_tensor(data.event_weights())[:, None, :]
            pm.Deterministic("log_hr", (w * log_hr_k).sum(axis=-1), dims=("endpoint", "prior"))
        # log hazard per (endpoint, prior, arm, interval)
        log_h = pt.stack([log_h0 + log_hr_k, log_h0], axis=2)
        cell = log_h[e_idx, :, a_idx, k_idx]  # (cells, prior)
        mu = exposure[e_idx, a_idx, k_idx][:, None] * pt.exp(cell)
        observed = np.broadcast_to(events[e_idx, a_idx, k_idx][:, None], (len(e_idx), n_p))
        pm.Poisson("events_obs", mu=mu, observed=observed.astype(np.int64))
        pm.Deterministic("hr", pt.exp(model["log_hr"]), dims=("endpoint", "prior"))
    return model
