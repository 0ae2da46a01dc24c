"""Summary-level log-HR model: the standard Bayesian re-analysis of a published hazard ratio.

    log_hr[e, r, p] ~ Normal(prior_mean[p], prior_sd[p])
    y[e, r]         ~ Normal(log_hr[e, r, p], se[e])      (one copy per prior p)

`y` is the published log-HR (treatment vs control) and `se` the SE implied by its CI. The
`reading` dimension holds the HR as printed and its inverse (a sensitivity analysis for a
doubtful direction). Each (endpoint, reading, prior) cell is an independent conjugate fit;
batching them lets one compiled model serve all. Prior parameters and data are `pm.Data`,
so they can be changed without recompiling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pymc as pm

from bayes_btc.audit import se_from_ci
from bayes_btc.trial import TrialSpec

MODEL = "loghr_summary"
READINGS = {"as_printed": MODEL, "inverted": f"{MODEL}_inverted"}


@dataclass(frozen=True)
class LogHRData:
    """Published log-HRs (endpoint x reading) and their SEs (endpoint), log-HR scale."""

    endpoints: list[str]
    log_hr: np.ndarray  # (endpoint, reading)
    se: np.ndarray  # (endpoint,)

    @classmethod
    def from_trial(cls, spec: TrialSpec, endpoints: list[str]) -> LogHRData:
        names = [e for e in endpoints if e in spec.survival]
        y = np.array([math.log(spec.survival[e].hr) for e in names])
        se = np.array([se_from_ci(*spec.survival[e].ci, spec.survival[e].ci_level) for e in names])
        return cls(names, np.stack([y, -y], axis=1), se)


def build_loghr_model(data: LogHRData, priors: dict[str, tuple[float, float]]) -> pm.Model:
    """Declare the batched model; `priors` maps a name to (mean, sd) on the log-HR scale."""
    coords = {"endpoint": data.endpoints, "reading": list(READINGS), "prior": list(priors)}
    dims = ("endpoint", "reading", "prior")
    mean = np.array([m for m, _ in priors.values()], dtype=float)
    sd = np.array([s for _, s in priors.values()], dtype=float)
    shape = (len(data.endpoints), len(READINGS), len(priors))
    with pm.Model(coords=coords) as model:
        prior_mean = pm.Data("prior_mean", mean, dims="prior")
        prior_sd = pm.Data("prior_sd", sd, dims="prior")
        y = pm.Data("y", np.broadcast_to(data.log_hr[:, :, None], shape).copy(), dims=dims)
        se = pm.Data("se", data.se, dims="endpoint")
        log_hr = pm.Normal("log_hr", mu=prior_mean, sigma=prior_sd, dims=dims)
        pm.Normal("y_obs", mu=log_hr, sigma=se[:, None, None], observed=y, dims=dims)
        pm.Deterministic("hr", pm.math.exp(log_hr), dims=dims)
    return model
