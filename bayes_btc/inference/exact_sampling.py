"""Exact posterior draws for the conjugate families (no MCMC).

The summary log-HR model (normal or normal-mixture prior, normal likelihood) and the
beta-binomial model (Beta or Beta-mixture prior per arm, binomial likelihood) have closed-form
posteriors: the conjugate mixture update (`priors.mixtures`), whose component weights are
the prior weights times each component's marginal likelihood. Each draw picks a component by
those posterior weights and then draws from it, so the draws are independent and exact.

The draws come back as the same DataTree an MCMC run gives (posterior variables and dims of
the PyMC model, its constant data, a `sample_stats` group with no divergences), so every
`fits_from_*` function and everything downstream works unchanged. The number of draws
follows from the plan's MCSE target for a probability: 0.25 / target^2 (the worst case,
p = 0.5), split over the plan's number of chains.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pymc as pm
import xarray as xr
from scipy.special import betaln, log_softmax

from bayes_btc.inference.sampling import Progress, family_seed, model_data, quiet, sample_model
from bayes_btc.inputs.plan import Sampler
from bayes_btc.models.fit import EXACT_DRAWS, Fit


def pick_components(log_w: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Component index per draw, (size, *cells), from log weights (*cells, component)."""
    cdf = np.cumsum(np.exp(log_softmax(log_w, axis=-1)), axis=-1)
    u = rng.random((size, *log_w.shape[:-1], 1))
    k = (u > cdf[None]).sum(axis=-1)
    return np.minimum(k, log_w.shape[-1] - 1)


def normal_mixture_draws(
    w: np.ndarray, mean: np.ndarray, sd: np.ndarray, y: np.ndarray, se: np.ndarray,
    size: int, rng: np.random.Generator,
) -> np.ndarray:  # fmt: skip
    """Draws (size, *cells) of theta | y for y ~ Normal(theta, se) and a normal-mixture prior
    (w, mean, sd: (*cells, component), broadcast against y and se (*cells))."""
    y, se = y[..., None], se[..., None]
    log_w = np.log(w) - 0.5 * np.log(sd**2 + se**2) - 0.5 * (y - mean) ** 2 / (sd**2 + se**2)
    prec = sd**-2 + se**-2
    m1, s1 = (mean * sd**-2 + y * se**-2) / prec, prec**-0.5
    k = pick_components(log_w, size, rng)
    m1, s1 = (np.take_along_axis(np.broadcast_to(v, log_w.shape)[None], k[..., None], -1)[..., 0]
              for v in (m1, s1))  # fmt: skip
    return m1 + s1 * rng.standard_normal(k.shape)


def beta_mixture_draws(
    w: np.ndarray, a: np.ndarray, b: np.ndarray, events: np.ndarray, n: np.ndarray,
    size: int, rng: np.random.Generator,
) -> np.ndarray:  # fmt: skip
    """Draws (size, *cells) of the rate given `events` of `n` and a Beta-mixture prior
    (w, a, b: (*cells, component); events, n: (*cells))."""
    k_obs, n_obs = events[..., None], n[..., None]
    a1, b1 = a + k_obs, b + n_obs - k_obs
    log_w = np.log(w) + betaln(a1, b1) - betaln(a, b)
    k = pick_components(log_w, size, rng)
    a1, b1 = (np.take_along_axis(np.broadcast_to(v, log_w.shape)[None], k[..., None], -1)[..., 0]
              for v in (a1, b1))  # fmt: skip
    return rng.beta(a1, b1)


def as_posterior(values: dict[str, np.ndarray], dims: dict[str, tuple[str, ...]], chains: int,
                 coords: dict[str, list]) -> xr.Dataset:  # fmt: skip
    """(draw, *cells) arrays -> (chain, draw, *cells) variables."""
    out = {}
    for name, v in values.items():
        per_chain = v.shape[0] // chains
        v = v[: per_chain * chains].reshape(chains, per_chain, *v.shape[1:])
        out[name] = xr.DataArray(v, dims=("chain", "draw", *dims[name]))
    ds = xr.Dataset(out)
    return ds.assign_coords({k: c for k, c in coords.items() if k in ds.dims})


def exact_values(model: pm.Model, size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Exact posterior draws of the conjugate model's variables (draw first)."""
    d = {v.name: np.asarray(v.get_value()) for v in model.data_vars}
    if "rate" in model.named_vars:  # beta-binomial: (endpoint, arm, prior, component)
        rate = beta_mixture_draws(
            d["prior_w"], d["prior_a"], d["prior_b"], d["events"].astype(float),
            np.broadcast_to(d["n"][:, :, None], d["events"].shape).astype(float), size, rng,
        )  # fmt: skip
        return {"rate": rate, "rate_diff": rate[:, :, 0, :] - rate[:, :, 1, :]}
    if "log_hr" in model.named_vars:  # summary log-HR: prior (prior, component)
        y = d["y"]
        se = np.broadcast_to(d["se"][:, None, None], y.shape)
        log_hr = normal_mixture_draws(
            d["prior_w"], d["prior_mean"], d["prior_sd"], y, se, size, rng
        )
        return {"log_hr": log_hr, "hr": np.exp(log_hr)}
    raise ValueError("exact draws exist for the beta-binomial and summary log-HR models only")


def sample_exact(
    model: pm.Model, sampler: Sampler, family: str, progress: Progress = quiet
) -> xr.DataTree:
    """Exact posterior draws of a conjugate model, as a DataTree shaped like an MCMC run."""
    t0 = time.perf_counter()
    n = sampler.exact_draws
    chains = sampler.chains
    size = math.ceil(n / chains) * chains
    rng = np.random.default_rng(family_seed(sampler.seed, family))
    values = exact_values(model, size, rng)
    dims = {k: tuple(model.named_vars_to_dims[k]) for k in values}
    coords = {k: list(v) for k, v in model.coords.items()}
    post = as_posterior(values, dims, chains, coords)
    seconds = time.perf_counter() - t0
    progress(f"{family}: {size} exact posterior draws in {seconds:.1f} s (no MCMC)")
    return exact_tree(post, model, family, seconds)


def exact_tree(post: xr.Dataset, model: pm.Model, family: str, seconds: float) -> xr.DataTree:
    """Independent draws `post` (chain, draw, ...) as a DataTree shaped like an MCMC run: a
    `sample_stats` with no divergences and the model's constant data."""
    shape = (post.sizes["chain"], post.sizes["draw"])
    stats = xr.Dataset({"diverging": xr.DataArray(np.zeros(shape, bool), dims=("chain", "draw"))})
    post.attrs.update(
        {"model_family": family, "compile_seconds": 0.0, "sampling_seconds": round(seconds, 3),
         "draws_from": EXACT_DRAWS}
    )  # fmt: skip
    return xr.DataTree.from_dict(
        {"posterior": post, "sample_stats": stats, "constant_data": model_data(model)}
    )


def sample_conjugate(
    model: pm.Model, sampler: Sampler, family: str, progress: Progress = quiet
) -> xr.DataTree:
    """A conjugate family: exact draws (`sampler.conjugate == "exact"`) or NUTS, as a check."""
    if sampler.conjugate == "exact":
        return sample_exact(model, sampler, family, progress)
    return sample_model(model, sampler, family, progress)


def labelled(fits: list[Fit], tree: xr.DataTree) -> list[Fit]:
    """The fits of one family, marked with how their draws were made (MCMC or exact)."""
    source = str(tree["posterior"].attrs.get("draws_from", "MCMC"))
    return [replace(f, draws_from=source) for f in fits]
