"""The run's compiled loops (numba) made ready in a background thread when a run starts.

With an empty cache (a new machine or a new version), compiling the loops of the mixture fits,
the PWE sampler and the summary takes seconds. Started with the run, in the order the run
needs them, the compiles go on while the run does its other work instead of each waiting for
its first use; with a filled cache the thread only loads the cached machine code (a fraction
of a second). The loops are compiled by running them on a tiny made-up problem whose arrays
have the same types as a run's, so the run finds them ready. Nothing of the tiny problem is
kept, and no result depends on whether or when the thread ran.
"""

from __future__ import annotations

import threading

import numpy as np

from bayes_btc.inference.cell_stats import summarise
from bayes_btc.inference.pwe_sampling import sample_cells
from bayes_btc.models.pwe import PWEPriors
from bayes_btc.models.pwe_density import array_cells
from bayes_btc.priors.mixture_fit import fit_beta_mixture, fit_normal_mixture
from bayes_btc.priors.mixtures import NormalMixture


def _mixture_loops() -> None:
    """The EM loops of the historical (MAP) priors' mixture fits, on a few made-up draws."""
    rng = np.random.default_rng(0)
    fit_beta_mixture(rng.beta(3.0, 5.0, 400), max_components=2)
    fit_normal_mixture(rng.normal(0.0, 1.0, 400), max_components=2)


def _pwe_loops() -> None:
    """One tiny HMC run of each PWE variant: its log density, gradient and transition loops."""
    events = np.array([[[6.0, 4.0], [8.0, 5.0]]])  # (data set, arm, interval)
    exposure = np.array([[[30.0, 40.0], [25.0, 30.0]]])
    start, width = np.array([0.0, 3.0]), np.array([3.0, 12.0])
    priors = {"prior": NormalMixture.single(0.0, 1.0)}
    pwe_priors = PWEPriors(-2.5, 2.5, 0.3, 0.15)
    for variant in ("ph", "nonph"):
        cells = array_cells(variant, events, exposure, start, width, priors, pwe_priors)
        sample_cells(cells, chains=1, warmup=4, draws=2, seed=0, threads=1)


def _summary_loops() -> None:
    """The rank and ESS loops of the posterior summary, on a few made-up chains."""
    summarise(np.random.default_rng(0).standard_normal((2, 2, 400)))


def _quietly(jobs: list) -> None:
    try:
        with np.errstate(all="ignore"):
            for job in jobs:
                job()
    except BaseException:  # only a head start: the run compiles whatever is missing
        return


def start(pwe: bool, mixtures: bool) -> threading.Thread:
    """Compile (or load) in a daemon thread, in the order a run needs them: the mixture fits'
    loops if `mixtures` (historical priors), the PWE sampler's if `pwe`, the summary's. Join
    it before forking."""
    jobs = [*([_mixture_loops] if mixtures else []), *([_pwe_loops] if pwe else [])]
    thread = threading.Thread(
        target=_quietly, args=([*jobs, _summary_loops],), name="precompile", daemon=True
    )
    thread.start()
    return thread
