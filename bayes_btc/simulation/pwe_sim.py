"""The PWE models for simulated trials: compiled once per worker, data swapped per trial.

The same models as `models/pwe.py`: a Gaussian random walk on the baseline log hazard per
interval, the named log-HR priors batched as a `prior` dimension, Poisson events with
log-exposure offsets; PH (one log-HR) or non-PH (interval log-HRs on a random walk from the
named prior, reported as the event-weighted average log-HR, as `pwe_nonph`). Here events
and exposure are `pm.Data` with fixed shapes (fixed cut points), so nutpie's `with_data`
re-samples a new trial without recompiling. Historical control-median priors are not part
of it (they need the MAP fit; see the OC settings docs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from bayes_btc.models.components import mixture_arrays, normal_mixture_rv
from bayes_btc.priors.mixtures import NormalMixture


@dataclass(frozen=True)
class PWESimModel:
    """What defines one compiled model: priors (name -> log-HR prior), the number of intervals
    and the baseline prior. Cut points are not part of it (they only shape the data), so
    endpoints with as many intervals share one compiled model."""

    priors: tuple[tuple[str, NormalMixture], ...]
    n_intervals: int
    baseline_mean: float
    baseline_sd: float
    smoothing_sd: float
    variant: str = "ph"  # "ph" or "nonph"
    hr_smoothing_sd: float = 0.15  # non-PH: random-walk SD of the log-HR per interval step

    @property
    def model_name(self) -> str:
        return f"pwe_{self.variant}"

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.priors]


def build_pwe_sim_model(spec: PWESimModel) -> pm.Model:
    """Declare the PH or non-PH PWE model with events/exposure as data of shape
    (prior, arm, interval)."""
    priors = dict(spec.priors)
    w, mean, sd = mixture_arrays(priors)
    n_p, n_k = len(priors), spec.n_intervals
    coords = {
        "prior": list(priors),
        "arm": ["treatment", "control"],
        "interval": np.arange(n_k),
        "component": np.arange(w.shape[-1]),
    }
    with pm.Model(coords=coords) as model:
        prior_w = pm.Data("prior_w", w, dims=("prior", "component"))
        prior_mean = pm.Data("prior_mean", mean, dims=("prior", "component"))
        prior_sd = pm.Data("prior_sd", sd, dims=("prior", "component"))
        events = pm.Data("events", np.zeros((n_p, 2, n_k)), dims=("prior", "arm", "interval"))
        exposure = pm.Data("exposure", np.ones((n_p, 2, n_k)), dims=("prior", "arm", "interval"))
        log_h0 = pm.GaussianRandomWalk(
            "log_h0",
            init_dist=pm.Normal.dist(spec.baseline_mean, spec.baseline_sd),
            sigma=spec.smoothing_sd,
            dims=("prior", "interval"),
        )
        if spec.variant == "ph":
            log_hr = normal_mixture_rv("log_hr", prior_w, prior_mean, prior_sd, ("prior",))
            log_hr_k = pt.broadcast_to(log_hr[:, None], (n_p, n_k))
        else:
            init = (
                pm.Normal.dist(prior_mean[:, 0], prior_sd[:, 0])
                if w.shape[-1] == 1
                else pm.NormalMixture.dist(w=prior_w, mu=prior_mean, sigma=prior_sd)
            )
            log_hr_k = pm.GaussianRandomWalk(
                "log_hr_interval",
                init_dist=init,
                sigma=spec.hr_smoothing_sd,
                dims=("prior", "interval"),
            )
        log_h = pt.stack([log_h0 + log_hr_k, log_h0], axis=1)
        pm.Poisson("events_obs", mu=exposure * pt.exp(log_h), observed=events)
    return model


_CACHE: dict[PWESimModel, tuple[object, float]] = {}


def compiled(spec: PWESimModel) -> tuple[object, float]:
    """The nutpie-compiled model for `spec`, compiled once per process; (model, compile s)."""
    if spec not in _CACHE:
        import nutpie

        t0 = time.perf_counter()
        model = nutpie.compile_pymc_model(build_pwe_sim_model(spec))
        _CACHE[spec] = (model, time.perf_counter() - t0)
    return _CACHE[spec]


def sample_trial(
    spec: PWESimModel,
    events: np.ndarray,
    exposure: np.ndarray,
    margin_hr: float,
    seed: int,
    tune: int,
    draws: int,
) -> np.ndarray:
    """Posterior P(HR < margin_hr) per prior for one trial's (2, K) events and exposure."""
    import nutpie

    model, _ = compiled(spec)
    n_p = len(spec.priors)
    ev = np.broadcast_to(events, (n_p, *events.shape)).copy()
    ex = np.broadcast_to(np.maximum(exposure, 1e-9), (n_p, *exposure.shape)).copy()
    tree = nutpie.sample(
        model.with_data(events=ev, exposure=ex),  # type: ignore[attr-defined]
        draws=draws,
        tune=tune,
        chains=1,
        cores=1,
        seed=seed,
        progress_bar=False,
        save_warmup=False,
    )
    post = tree["posterior"]
    if spec.variant == "ph":
        log_hr = np.asarray(post["log_hr"].values)  # (chain, draw, prior)
    else:  # event-weighted average of the interval log-HRs (share of all events per interval)
        per = events.sum(axis=0)
        w = per / per.sum() if per.sum() > 0 else np.full(per.shape, 1.0 / per.size)
        log_hr = np.asarray(post["log_hr_interval"].values) @ w
    return (log_hr < np.log(margin_hr)).reshape(-1, n_p).mean(axis=0)
