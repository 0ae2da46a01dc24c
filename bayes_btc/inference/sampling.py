"""Compile and sample a PyMC model with nutpie: one compile per model family.

Returns an ArviZ DataTree (posterior, sample_stats, observed and constant data) with the
compile and sampling times stored in the posterior's attributes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from bayes_btc.inference.backend import use_exact_math
from bayes_btc.inputs.plan import Sampler
from bayes_btc.interrupts import Interrupted, check_interrupted

if TYPE_CHECKING:
    import pymc as pm

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class FitTimes:
    compile_s: float
    sample_s: float


def family_seed(seed: int, family: str) -> int:
    """A reproducible seed per model family, independent of the order families are fitted."""
    entropy = [seed, *family.encode()]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


@dataclass(frozen=True)
class CompiledModel:
    """A PyMC model compiled once by nutpie; sample it as often as needed."""

    model: pm.Model
    compiled: object  # nutpie.CompiledModel
    family: str
    compile_s: float


def compile_model(model: pm.Model, family: str, progress: Progress = quiet) -> CompiledModel:
    """Compile `model` with nutpie (numba backend): the costly step, done once per family.
    nutpie is imported here: the default run samples nothing with it."""
    import nutpie

    t0 = time.perf_counter()
    progress(f"{family}: compiling")
    use_exact_math()
    compiled = nutpie.compile_pymc_model(model)
    check_interrupted()  # a signal swallowed inside the compiler still stops the run
    return CompiledModel(model, compiled, family, time.perf_counter() - t0)


def sample_compiled(cm: CompiledModel, sampler: Sampler, progress: Progress = quiet) -> xr.DataTree:
    """Draw `sampler.chains` NUTS chains in parallel from a compiled model."""
    import nutpie

    progress(
        f"{cm.family}: sampling {sampler.chains} chains x ({sampler.tune} tune + "
        f"{sampler.draws} draws) on {sampler.cores} cores"
    )
    t1 = time.perf_counter()
    tree = nutpie.sample(
        cm.compiled,
        draws=sampler.draws,
        tune=sampler.tune,
        chains=sampler.chains,
        cores=sampler.cores,
        seed=family_seed(sampler.seed, cm.family),
        target_accept=sampler.target_accept,
        progress_bar=False,
        save_warmup=False,
    )
    t2 = time.perf_counter()
    check_interrupted()
    assert isinstance(tree, xr.DataTree)
    if not _complete(tree, sampler):  # nutpie returns the draws so far when stopped
        raise Interrupted(f"{cm.family}: sampling stopped before all draws were made")
    progress(f"{cm.family}: compiled in {cm.compile_s:.1f} s, sampled in {t2 - t1:.1f} s")
    tree["constant_data"] = xr.DataTree(model_data(cm.model))
    tree["posterior"].attrs.update(
        {
            "model_family": cm.family,
            "compile_seconds": round(cm.compile_s, 3),
            "sampling_seconds": round(t2 - t1, 3),
        }
    )
    return tree


def sample_model(
    model: pm.Model, sampler: Sampler, family: str, progress: Progress = quiet
) -> xr.DataTree:
    """Compile `model` once and draw `sampler.chains` NUTS chains in parallel."""
    return sample_compiled(compile_model(model, family, progress), sampler, progress)


def _complete(tree: xr.DataTree, sampler: Sampler) -> bool:
    """Whether every chain holds every draw asked for."""
    sizes = tree["posterior"].sizes
    return sizes.get("chain") == sampler.chains and sizes.get("draw") == sampler.draws


def model_data(model: pm.Model) -> xr.Dataset:
    """The model's data containers (observations and prior parameters) with their dims."""
    dims = model.named_vars_to_dims
    return xr.Dataset(
        {v.name: xr.DataArray(v.get_value(), dims=dims.get(v.name)) for v in model.data_vars},
        coords={k: list(v) for k, v in model.coords.items()},
    )


def fit_times(tree: xr.DataTree) -> FitTimes:
    a = tree["posterior"].attrs
    return FitTimes(
        float(a.get("compile_seconds", np.nan)), float(a.get("sampling_seconds", np.nan))
    )
