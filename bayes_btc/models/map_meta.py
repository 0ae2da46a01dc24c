"""Random-effects meta-analysis of earlier control arms, for meta-analytic-predictive priors.

    response (per endpoint r, trial i):  k[i] ~ Binomial(n[i], logit^-1(mu[r] + tau[r] z[i]))
    log median (per endpoint s, trial i): y[i] ~ Normal(mu[s] + tau[s] z[i], se[i])
    z ~ Normal(0, 1) (non-centred trial effects); tau ~ HalfNormal(scale from the plan)
    predictive for a new trial:  rate_new[r] = logit^-1(mu[r] + tau[r] z_new[r]),
                                 log_median_new[s] = mu[s] + tau[s] z_new[s]

The predictive draws are the MAP prior (Neuenschwander et al. 2010, Clin Trials 7:5-18) for the
control arm of the new trial; `priors.map_prior` approximates them by mixtures. Every series is
a batched endpoint of one model, so one compilation serves them all. mu has weakly-informative
priors: Normal(0, 2) on the logit scale, Normal(2, 2) on log months (e^2 ~ 7 months).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm

from bayes_btc.inputs.historical import BinomialSeries, LogMedianSeries

MODEL = "map_meta"
RATE_MU_PRIOR = (0.0, 2.0)  # Normal(mean, sd) of mu on the logit response rate
LOG_MEDIAN_MU_PRIOR = (2.0, 2.0)  # Normal(mean, sd) of mu on the log median (log months)


@dataclass(frozen=True)
class MetaData:
    binomial: list[BinomialSeries]
    log_median: list[LogMedianSeries]


def _index(series: list) -> tuple[np.ndarray, list[str]]:
    idx = np.concatenate([np.full(len(s.trials), i) for i, s in enumerate(series)])
    labels = [f"{s.endpoint}: {t}" for s in series for t in s.trials]
    return idx.astype(int), labels


def build_map_model(
    data: MetaData, tau_scale_logit: float = 1.0, tau_scale_log_median: float = 0.5
) -> pm.Model:
    """Declare the batched random-effects model (at least one series)."""
    if not data.binomial and not data.log_median:
        raise ValueError("no historical series to meta-analyse")
    with pm.Model() as model:
        if data.binomial:
            idx, labels = _index(data.binomial)
            model.add_coords(
                {"rate_endpoint": [s.endpoint for s in data.binomial], "rate_trial": labels}
            )
            k = np.concatenate([s.events for s in data.binomial])
            n = np.concatenate([s.n for s in data.binomial])
            pm.Data("rate_n", n, dims="rate_trial")
            mu = pm.Normal("rate_mu", *RATE_MU_PRIOR, dims="rate_endpoint")
            tau = pm.HalfNormal("rate_tau", tau_scale_logit, dims="rate_endpoint")
            z = pm.Normal("rate_z", 0.0, 1.0, dims="rate_trial")
            p = pm.math.invlogit(mu[idx] + tau[idx] * z)
            pm.Binomial("rate_obs", n=n, p=p, observed=k, dims="rate_trial")
            z_new = pm.Normal("rate_z_new", 0.0, 1.0, dims="rate_endpoint")
            pm.Deterministic("rate_new", pm.math.invlogit(mu + tau * z_new), dims="rate_endpoint")
        if data.log_median:
            idx, labels = _index(data.log_median)
            model.add_coords(
                {
                    "median_endpoint": [s.endpoint for s in data.log_median],
                    "median_trial": labels,
                }
            )
            y = np.concatenate([s.log_median for s in data.log_median])
            se = np.concatenate([s.se for s in data.log_median])
            pm.Data("log_median_se", se, dims="median_trial")
            mu = pm.Normal("log_median_mu", *LOG_MEDIAN_MU_PRIOR, dims="median_endpoint")
            tau = pm.HalfNormal("log_median_tau", tau_scale_log_median, dims="median_endpoint")
            z = pm.Normal("log_median_z", 0.0, 1.0, dims="median_trial")
            pm.Normal("log_median_obs", mu[idx] + tau[idx] * z, se, observed=y, dims="median_trial")
            z_new = pm.Normal("log_median_z_new", 0.0, 1.0, dims="median_endpoint")
            pm.Deterministic("log_median_new", mu + tau * z_new, dims="median_endpoint")
    return model
