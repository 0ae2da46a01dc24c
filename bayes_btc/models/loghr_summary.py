"""Summary-level log-HR model: the standard Bayesian re-analysis of a published hazard ratio.

    log_hr[e, r, p] ~ sum_j w[p, j] Normal(prior_mean[p, j], prior_sd[p, j])
    y[e, r]         ~ Normal(log_hr[e, r, p], se[e])      (one copy per prior p)

`y` is the published log-HR (treatment vs control) and `se` the SE implied by its CI. The
`reading` dimension holds the HR as printed and its inverse (a sensitivity analysis for a
doubtful direction). Each (endpoint, reading, prior) cell is an independent conjugate fit;
batching them lets one compiled model serve all. Prior parameters and data are `pm.Data`,
so they can be changed without recompiling. A prior is a normal or a normal mixture (padded
to a common number of components without changing the distribution).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor.sharedvar import TensorSharedVariable

from bayes_btc.audit import se_from_ci
from bayes_btc.mixtures import NormalMixture
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


def mixture_arrays(priors: dict[str, NormalMixture]) -> tuple[np.ndarray, ...]:
    """(weights, means, sds), each (prior, component), padded to the largest mixture."""
    k = max(m.n_components for m in priors.values())
    w, m, s = (np.stack(x) for x in zip(*(p.padded(k) for p in priors.values()), strict=True))
    return w, m, s


def normal_mixture_rv(
    name: str,
    w: TensorSharedVariable,
    mean: TensorSharedVariable,
    sd: TensorSharedVariable,
    dims: tuple[str, ...],
) -> pt.TensorVariable:
    """A Normal (one component) or NormalMixture prior; the components on the last axis."""
    if w.get_value().shape[-1] == 1:
        return pm.Normal(name, mu=mean[..., 0], sigma=sd[..., 0], dims=dims)
    return pm.NormalMixture(name, w=w, mu=mean, sigma=sd, dims=dims)


def build_loghr_model(data: LogHRData, priors: dict[str, NormalMixture]) -> pm.Model:
    """Declare the batched model; `priors` maps a name to its log-HR prior."""
    w, mean, sd = mixture_arrays(priors)
    coords = {
        "endpoint": data.endpoints,
        "reading": list(READINGS),
        "prior": list(priors),
        "component": np.arange(w.shape[-1]),
    }
    dims = ("endpoint", "reading", "prior")
    shape = (len(data.endpoints), len(READINGS), len(priors))
    with pm.Model(coords=coords) as model:
        prior_w = pm.Data("prior_w", w, dims=("prior", "component"))
        prior_mean = pm.Data("prior_mean", mean, dims=("prior", "component"))
        prior_sd = pm.Data("prior_sd", sd, dims=("prior", "component"))
        y = pm.Data("y", np.broadcast_to(data.log_hr[:, :, None], shape).copy(), dims=dims)
        se = pm.Data("se", data.se, dims="endpoint")
        log_hr = normal_mixture_rv("log_hr", prior_w, prior_mean, prior_sd, dims)
        pm.Normal("y_obs", mu=log_hr, sigma=se[:, None, None], observed=y, dims=dims)
        pm.Deterministic("hr", pm.math.exp(log_hr), dims=dims)
    return model
