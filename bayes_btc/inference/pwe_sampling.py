"""Sampling the batched PWE models: every cell by numpy HMC (default) or by NUTS (a check).

`[sampler] pwe = "hmc"`: each cell (endpoint x data set x prior) is located and whitened by its
Laplace approximation refined by importance sampling (`inference/laplace.py`) and sampled by
static HMC with a step size adapted per chain and cell (`inference/hmc.py`), all cells at once
in numpy on the closed-form log posterior (`models/pwe_density.py`): no compile, and no cell's
step size set by another's. `"nuts"`: nutpie's NUTS on the PyMC model of `models/pwe.py`, all
cells batched in one run. Both return the same DataTree layout.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import xarray as xr

from bayes_btc.inference.hmc import HMCRun, hmc_sample
from bayes_btc.inference.laplace import Laplace, find_modes, refine
from bayes_btc.inference.sampling import Progress, family_seed, model_data, quiet, sample_model
from bayes_btc.inputs.plan import Sampler
from bayes_btc.interrupts import check_interrupted
from bayes_btc.models.pwe import PWEData, PWEPriors, Variant, build_pwe_model
from bayes_btc.models.pwe_density import (
    PWECells,
    gradient_hessian,
    log_density,
    posterior_values,
    pwe_cells,
    start_point,
    transition,
    value_and_gradient,
)
from bayes_btc.priors.mixtures import NormalMixture

WARMUP = 500  # HMC warm-up iterations per chain (at most `tune`): step-size adaptation
BUILDING = threading.Lock()  # PyMC models are built one at a time (graphs are not thread-safe)
METHOD = "HMC on the closed-form log posterior (Laplace-whitened, step size adapted per cell)"


def sample_cells(
    cells: PWECells, chains: int, warmup: int, draws: int, seed: int, threads: int = 1
) -> tuple[HMCRun, Laplace]:
    """Every cell located (Newton), its Laplace scale refined by importance sampling, then
    sampled by HMC with trajectories on `threads` threads (the draws do not depend on it):
    the draws (chain, draw, cell, D) and where the cells were whitened."""
    laplace = find_modes(
        lambda x: log_density(cells, x), lambda x: gradient_hessian(cells, x), start_point(cells)
    )
    laplace = refine(lambda x, idx: value_and_gradient(cells.take(idx), x)[0], laplace, seed)
    check_interrupted()
    run = hmc_sample(
        lambda x: value_and_gradient(cells, x),
        laplace,
        chains,
        warmup,
        draws,
        seed,
        transition(cells, threads),
    )
    return run, laplace


def sample_hmc(
    data: PWEData,
    priors: dict[str, NormalMixture],
    variant: Variant,
    pwe_priors: PWEPriors,
    control_median: dict[tuple[str, str], NormalMixture | None] | None,
    sampler: Sampler,
    seed: int,
) -> tuple[xr.Dataset, xr.Dataset, dict]:
    """Posterior (chain, draw, endpoint, prior[, interval]) of every cell by HMC, its
    sample_stats (divergences) and run attributes."""
    cells = pwe_cells(data, priors, variant, pwe_priors, control_median)
    run, laplace = sample_cells(
        cells, sampler.chains, min(WARMUP, sampler.tune), sampler.draws, seed, sampler.cores
    )
    values = posterior_values(data, len(priors), variant, run.draws)
    dims = {
        "log_h0": ("endpoint", "prior", "interval"),
        "log_hr_interval": ("endpoint", "prior", "interval"),
        "log_hr": ("endpoint", "prior"),
        "hr": ("endpoint", "prior"),
    }
    post = xr.Dataset(
        {k: xr.DataArray(v, dims=("chain", "draw", *dims[k])) for k, v in values.items()},
        coords={
            "chain": np.arange(sampler.chains),
            "draw": np.arange(sampler.draws),
            "endpoint": data.endpoints,
            "prior": list(priors),
            "interval": np.arange(data.n_intervals),
        },
    )
    n_e, n_p = len(data.endpoints), len(priors)
    by_cell = ("chain", "endpoint", "prior")
    per_cell = run.divergent.reshape(sampler.chains, sampler.draws, n_e, n_p)
    stats = xr.Dataset(
        {
            "diverging": xr.DataArray(per_cell.any(axis=(2, 3)), dims=("chain", "draw")),
            "divergences_per_cell": xr.DataArray(per_cell.sum(axis=1), dims=by_cell),
            "acceptance_rate": xr.DataArray(
                run.accept_rate.reshape(sampler.chains, n_e, n_p),
                dims=("chain", "endpoint", "prior"),
            ),
            "step_size": xr.DataArray(
                run.step_size.reshape(sampler.chains, n_e, n_p), dims=by_cell
            ),
            "leapfrog_steps": xr.DataArray(
                run.n_steps.reshape(n_e, n_p), dims=("endpoint", "prior")
            ),
        },
        coords={"endpoint": data.endpoints, "prior": list(priors)},
    )
    attrs = {
        "sampler": METHOD,
        "warmup": min(WARMUP, sampler.tune),
        "leapfrog_steps_max": int(run.n_steps.max()),
        "leapfrog_steps_mean": round(float(run.n_steps.mean()), 2),
        "acceptance_min": round(float(run.accept_rate.min()), 4),
        "newton_steps": laplace.newton_steps,
    }
    return post, stats, attrs


def sample_pwe(
    data: PWEData,
    priors: dict[str, NormalMixture],
    variant: Variant,
    pwe_priors: PWEPriors,
    control_median: dict[tuple[str, str], NormalMixture | None] | None,
    sampler: Sampler,
    family: str,
    progress: Progress = quiet,
) -> xr.DataTree:
    """One DataTree for the family (posterior, sample_stats, constant_data)."""
    with BUILDING:
        model = build_pwe_model(data, priors, variant, pwe_priors, control_median)
        constant = model_data(model)
    if sampler.pwe == "nuts":
        tree = sample_model(model, sampler, family, progress)
        tree["posterior"].attrs["sampler"] = "NUTS (nutpie)"
        return tree
    t0 = time.perf_counter()
    seed = family_seed(sampler.seed, family)
    post, stats, attrs = sample_hmc(
        data, priors, variant, pwe_priors, control_median, sampler, seed
    )
    check_interrupted()
    seconds = time.perf_counter() - t0
    progress(
        f"{family}: HMC, {sampler.chains} chains x {sampler.draws} draws for each of "
        f"{len(data.endpoints) * len(priors)} cells in {seconds:.1f} s (no compile)"
    )
    post.attrs = attrs | {
        "model_family": family,
        "compile_seconds": 0.0,
        "sampling_seconds": round(seconds, 3),
    }
    return xr.DataTree.from_dict(
        {"posterior": post, "sample_stats": stats, "constant_data": constant}
    )
