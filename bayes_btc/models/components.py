"""PyMC pieces shared by the models: normal and normal-mixture priors over batched cells, and
reading a cell's (padded) mixture prior back from the model's constant data."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pytensor.tensor.sharedvar import TensorSharedVariable

from bayes_btc.priors.mixtures import BetaMixture, NormalMixture


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


def _merged(w: np.ndarray, *params: np.ndarray) -> tuple[tuple[float, ...], ...]:
    """Mixture components with identical parameters merged (undoes the models' padding)."""
    out: dict[tuple[float, ...], float] = {}
    for i, key in enumerate(zip(*(p.tolist() for p in params), strict=True)):
        out[key] = out.get(key, 0.0) + float(w[i])
    return tuple(out.values()), *(tuple(k[j] for k in out) for j in range(len(params)))


def normal_prior(c: xr.Dataset) -> NormalMixture:
    """The log-HR prior of one cell from its constant data (prior_w, prior_mean, prior_sd)."""
    w, m, s = _merged(c["prior_w"].values, c["prior_mean"].values, c["prior_sd"].values)
    return NormalMixture(w, m, s)


def beta_prior(c: xr.Dataset) -> BetaMixture:
    """The rate prior of one cell and arm from its constant data (prior_w, prior_a, prior_b)."""
    w, a, b = _merged(c["prior_w"].values, c["prior_a"].values, c["prior_b"].values)
    return BetaMixture(w, a, b)
