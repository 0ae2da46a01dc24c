"""Beta-binomial model for binary endpoints (response, adverse events).

    rate[e, a, p] ~ sum_j w[e, a, p, j] Beta(a0[e, a, p, j], b0[e, a, p, j])
    k[e, a]       ~ Binomial(n[e, a], rate[e, a, p])      (one copy per prior p)
    rate_diff[e, p] = rate[e, treatment, p] - rate[e, control, p]

Each arm's prior is a Beta or a mixture of Betas (padded to a common number of components
without changing the distribution), so a historical MAP prior on the control arm and a uniform
prior on the treatment arm fit in the same batch. Endpoints, arms and priors are batched
dimensions: one compilation serves every fit. A prior that does not apply to an endpoint (a
historical prior where there is no historical data) holds a uniform placeholder, is marked in
`prior_applies`, and is never reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm

from bayes_btc.mixtures import BetaMixture

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


@dataclass(frozen=True)
class RatePriors:
    """Beta-mixture priors per (endpoint, arm, prior); None where a prior does not apply."""

    names: list[str]
    cells: dict[tuple[str, int, str], BetaMixture | None]  # (endpoint, arm index, prior)

    @classmethod
    def same(cls, endpoints: list[str], priors: dict[str, BetaMixture]) -> RatePriors:
        """Each named prior on both arms of every endpoint."""
        cells = {(e, arm, p): m for e in endpoints for arm in (0, 1) for p, m in priors.items()}
        return cls(list(priors), cells)

    def arrays(self, endpoints: list[str]) -> tuple[np.ndarray, ...]:
        """(weights, a, b) of shape (endpoint, arm, prior, component) and applies (e, p)."""
        k = max((m.n_components for m in self.cells.values() if m is not None), default=1)
        shape = (len(endpoints), 2, len(self.names), k)
        w, a, b = np.empty(shape), np.empty(shape), np.empty(shape)
        applies = np.ones((len(endpoints), len(self.names)), dtype=bool)
        for i, e in enumerate(endpoints):
            for j, p in enumerate(self.names):
                for arm in (0, 1):
                    mix = self.cells[(e, arm, p)]
                    if mix is None:
                        applies[i, j], mix = False, BetaMixture.single(1.0, 1.0)
                    w[i, arm, j], a[i, arm, j], b[i, arm, j] = mix.padded(k)
        return w, a, b, applies


def build_beta_binomial_model(data: BinaryData, priors: RatePriors) -> pm.Model:
    """Declare the batched model with each cell's (possibly mixture) Beta prior."""
    w, a, b, applies = priors.arrays(data.endpoints)
    coords = {
        "endpoint": data.endpoints,
        "arm": list(data.arms),
        "prior": priors.names,
        "component": np.arange(w.shape[-1]),
    }
    dims = ("endpoint", "arm", "prior")
    shape = (len(data.endpoints), 2, len(priors.names))
    with pm.Model(coords=coords) as model:
        prior_w = pm.Data("prior_w", w, dims=(*dims, "component"))
        prior_a = pm.Data("prior_a", a, dims=(*dims, "component"))
        prior_b = pm.Data("prior_b", b, dims=(*dims, "component"))
        pm.Data("prior_applies", applies.astype(np.int8), dims=("endpoint", "prior"))
        k = pm.Data("events", np.broadcast_to(data.events[:, :, None], shape).copy(), dims=dims)
        n = pm.Data("n", data.n, dims=("endpoint", "arm"))
        if w.shape[-1] == 1:
            rate = pm.Beta("rate", alpha=prior_a[..., 0], beta=prior_b[..., 0], dims=dims)
        else:
            components = pm.Beta.dist(alpha=prior_a, beta=prior_b)
            rate = pm.Mixture("rate", w=prior_w, comp_dists=components, dims=dims)
        pm.Binomial("events_obs", n=n[:, :, None], p=rate, observed=k, dims=dims)
        pm.Deterministic("rate_diff", rate[:, 0, :] - rate[:, 1, :], dims=("endpoint", "prior"))
    return model
