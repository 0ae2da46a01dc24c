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
import xarray as xr

from bayes_btc.inputs.audit import se_from_ci
from bayes_btc.inputs.trial import TrialSpec
from bayes_btc.models.components import mixture_arrays, normal_mixture_rv, normal_prior
from bayes_btc.models.fit import Comparison, Fit
from bayes_btc.priors.mixtures import NormalMixture, prob_normal_mixture_below

MODEL = "loghr_summary"
READINGS = {"as_printed": MODEL, "inverted": f"{MODEL}_inverted"}


@dataclass(frozen=True)
class LogHRData:
    """Published log-HRs (endpoint x reading) and their SEs (endpoint), log-HR scale."""

    endpoints: list[str]
    log_hr: np.ndarray  # (endpoint, reading)
    se: np.ndarray  # (endpoint,)
    readings: tuple[str, ...] = tuple(READINGS)

    @classmethod
    def from_trial(
        cls, spec: TrialSpec, endpoints: list[str], *, inverted: bool = True
    ) -> LogHRData:
        """The printed log-HRs; with `inverted`, their inverse as a second reading."""
        names = [e for e in endpoints if e in spec.survival]
        y = np.array([math.log(spec.survival[e].hr) for e in names])
        se = np.array([se_from_ci(*spec.survival[e].ci, spec.survival[e].ci_level) for e in names])
        if not inverted:
            return cls(names, y[:, None], se, ("as_printed",))
        return cls(names, np.stack([y, -y], axis=1), se)


def build_loghr_model(data: LogHRData, priors: dict[str, NormalMixture]) -> pm.Model:
    """Declare the batched model; `priors` maps a name to its log-HR prior."""
    w, mean, sd = mixture_arrays(priors)
    coords = {
        "endpoint": data.endpoints,
        "reading": list(data.readings),
        "prior": list(priors),
        "component": np.arange(w.shape[-1]),
    }
    dims = ("endpoint", "reading", "prior")
    shape = (len(data.endpoints), len(data.readings), len(priors))
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


def fits_from_loghr(tree: xr.DataTree) -> list[Fit]:
    """Split the batched summary log-HR fit into one Fit per endpoint x reading x prior."""
    post, const = tree["posterior"].to_dataset(), tree["constant_data"].to_dataset()
    family = str(tree["posterior"].attrs.get("model_family", "loghr_summary"))
    fits = []
    for e in post["endpoint"].values:
        for reading in post["reading"].values:
            model = READINGS[str(reading)]
            for p in post["prior"].values:
                cell = post.sel(endpoint=e, reading=reading, prior=p)
                c = const.sel(endpoint=e, reading=reading, prior=p)
                prior = normal_prior(c)
                inputs = {"y": float(c["y"]), "se": float(c["se"])}
                if prior.n_components == 1:
                    inputs |= {"prior_mean": prior.means[0], "prior_sd": prior.sds[0]}
                draws = {"hr": cell["hr"], "log_hr": cell["log_hr"]}
                fits.append(
                    Fit(
                        str(e),
                        model,
                        str(p),
                        family,
                        draws,
                        inputs,
                        {"log_hr": prior},
                        exact=exact_probability,
                    )
                )
    return fits


def prob_hr_below_mixture(
    prior: NormalMixture, log_hr: float, se: float, margin_hr: float
) -> float:
    """Exact posterior P(HR < margin_hr) under a normal-mixture prior on the log-HR."""
    return prob_normal_mixture_below(prior.posterior(log_hr, se), math.log(margin_hr))


def exact_probability(fit: Fit, rule: Comparison) -> float:
    """Exact posterior P(HR `direction` margin) of one cell (normal or normal-mixture prior,
    normal likelihood on the published log-HR): the conjugate mixture update."""
    if rule.quantity != "hr":
        raise ValueError(f"no exact reference for {rule.quantity!r} in {fit.model}")
    prior = fit.priors["log_hr"]
    assert isinstance(prior, NormalMixture)
    below = prob_hr_below_mixture(prior, fit.inputs["y"], fit.inputs["se"], rule.margin)
    return below if rule.direction == "<" else 1.0 - below
