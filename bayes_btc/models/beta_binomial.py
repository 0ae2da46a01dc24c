"""Beta-binomial model for binary endpoints (response, adverse events).

    rate[e, a, p] ~ Beta(a0[p], b0[p])
    k[e, a]       ~ Binomial(n[e, a], rate[e, a, p])      (one copy per prior p)
    rate_diff[e, p] = rate[e, treatment, p] - rate[e, control, p]

Endpoints, arms and priors are batched dimensions: one compilation serves every fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm

MODEL = "beta_binomial"


@dataclass(frozen=True)
class BinaryData:
    """Events and denominators per endpoint x arm; arms ordered (treatment, control)."""

    endpoints: list[str]
    arms: tuple[str, str]
    events: np.ndarray  # (endpoint, arm) int
    n: np.ndarray  # (endpoint, arm) int

    @classmethod
    def from_counts(
        cls, counts: dict[str, dict[str, tuple[int, int]]], arms: tuple[str, str]
    ) -> BinaryData:
        names = list(counts)
        k = np.array([[counts[e][a][0] for a in arms] for e in names], dtype=int)
        n = np.array([[counts[e][a][1] for a in arms] for e in names], dtype=int)
        return cls(names, arms, k, n)


def build_beta_binomial_model(data: BinaryData, priors: dict[str, tuple[float, float]]) -> pm.Model:
    """Declare the batched model; `priors` maps a name to Beta (a, b) for each arm's rate."""
    coords = {"endpoint": data.endpoints, "arm": list(data.arms), "prior": list(priors)}
    dims = ("endpoint", "arm", "prior")
    a0 = np.array([a for a, _ in priors.values()], dtype=float)
    b0 = np.array([b for _, b in priors.values()], dtype=float)
    shape = (len(data.endpoints), 2, len(priors))
    with pm.Model(coords=coords) as model:
        prior_a = pm.Data("prior_a", a0, dims="prior")
        prior_b = pm.Data("prior_b", b0, dims="prior")
        k = pm.Data("events", np.broadcast_to(data.events[:, :, None], shape).copy(), dims=dims)
        n = pm.Data("n", data.n, dims=("endpoint", "arm"))
        rate = pm.Beta("rate", alpha=prior_a, beta=prior_b, dims=dims)
        pm.Binomial("events_obs", n=n[:, :, None], p=rate, observed=k, dims=dims)
        pm.Deterministic("rate_diff", rate[:, 0, :] - rate[:, 1, :], dims=("endpoint", "prior"))
    return model
