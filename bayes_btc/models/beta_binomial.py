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
import xarray as xr

from bayes_btc.models.components import beta_prior
from bayes_btc.models.fit import Comparison, Fit
from bayes_btc.priors.mixdiff import prob_mixture_diff_above
from bayes_btc.priors.mixtures import BetaMixture

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


def fits_from_beta_binomial(tree: xr.DataTree) -> list[Fit]:
    """Split the batched beta-binomial fit into one Fit per endpoint x prior."""
    post, const = tree["posterior"].to_dataset(), tree["constant_data"].to_dataset()
    family = str(tree["posterior"].attrs.get("model_family", MODEL))
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
            fits.append(
                Fit(str(e), MODEL, str(p), family, draws, inputs, priors, exact=exact_probability)
            )
    return fits


def prob_rate_diff_mixture(
    events: tuple[int, int],
    n: tuple[int, int],
    priors: tuple[BetaMixture, BetaMixture],
    margin: float,
    direction: str,
) -> float:
    """Exact posterior P(rate_T - rate_C `direction` margin) under Beta-mixture priors per arm
    (treatment, control): each arm's posterior is the conjugate mixture update."""
    post_t = priors[0].posterior(events[0], n[0])
    post_c = priors[1].posterior(events[1], n[1])
    above = prob_mixture_diff_above(post_t, post_c, margin)
    return above if direction == ">" else 1.0 - above


def exact_probability(fit: Fit, rule: Comparison) -> float:
    """Exact posterior P(rate_diff `direction` margin) of one cell: each arm's conjugate
    (mixture) Beta update, and the difference by quadrature."""
    if rule.quantity != "rate_diff":
        raise ValueError(f"no exact reference for {rule.quantity!r} in {fit.model}")
    t, c = fit.priors.values()
    assert isinstance(t, BetaMixture) and isinstance(c, BetaMixture)
    i = fit.inputs
    events = (int(i["events_0"]), int(i["events_1"]))
    n = (int(i["n_0"]), int(i["n_1"]))
    return prob_rate_diff_mixture(events, n, (t, c), rule.margin, rule.direction)
