"""The PWE models fitted to many simulated trials at once: every trial x prior is one cell.

The same models as `bayes-btc fit` (`models/pwe.py`): their closed-form log posterior
(`models/pwe_density.py`) for a whole chunk of trials x named priors, located by Newton steps
and importance sampling (`inference/laplace.py`) and sampled by HMC with a step size adapted
per cell (`inference/hmc.py`), all in numpy: no compile, no per-trial loop. Cut points are
fixed per scenario, so every trial has the same K intervals. A prior with a historical control
median carries its MAP mixture on the control arm's log median (months) into its cells.
The decision quantity is the log-HR (PH) or the event-weighted average of the interval
log-HRs (non-PH, each trial's share of events per interval), as in the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bayes_btc.inference.pwe_sampling import sample_cells
from bayes_btc.models.pwe import MODEL_NAMES, PWEPriors
from bayes_btc.models.pwe_density import array_cells
from bayes_btc.priors.mixtures import NormalMixture

OPEN_WIDTH = 1e4  # width (months) of the open last interval, as `PWEData.interval_bounds`


@dataclass(frozen=True)
class PWESimModel:
    """One simulated PWE model: named log-HR priors, the number of intervals, the baseline
    prior, the variant and, per prior, the MAP prior on the control arm's log median (None:
    none). Cut points are not part of it (they only shape the data)."""

    priors: tuple[tuple[str, NormalMixture], ...]
    n_intervals: int
    baseline_mean: float
    baseline_sd: float
    smoothing_sd: float
    variant: str = "ph"  # "ph" or "nonph"
    hr_smoothing_sd: float = 0.15  # non-PH: random-walk SD of the log-HR per interval step
    control_median: tuple[NormalMixture | None, ...] = ()  # per prior; () = none at all

    @property
    def model_name(self) -> str:
        return MODEL_NAMES[self.variant]

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.priors]

    @property
    def pwe_priors(self) -> PWEPriors:
        return PWEPriors(
            self.baseline_mean, self.baseline_sd, self.smoothing_sd, self.hr_smoothing_sd
        )

    def median_arrays(self, n: int) -> tuple[np.ndarray, ...] | None:
        """The control-median prior of n data sets x priors as `array_cells` takes it."""
        mixtures = [m for m in self.control_median if m is not None]
        if not mixtures:
            return None
        k = max(m.n_components for m in mixtures)
        shape = (len(self.priors), k)
        w, m, s = np.ones(shape) / k, np.zeros(shape), np.ones(shape)
        mask = np.zeros(len(self.priors))
        for j, mix in enumerate(self.control_median):
            if mix is not None:
                w[j], m[j], s[j] = mix.padded(k)
                mask[j] = 1.0
        return tuple(np.broadcast_to(a, (n, *a.shape)) for a in (w, m, s, mask))


def interval_bounds(cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, width) months of the K = len(cuts) + 1 intervals, the last one open."""
    start = np.concatenate([[0.0], cuts])
    return start, np.append(np.diff(start), OPEN_WIDTH)


def fit_trials(
    model: PWESimModel,
    events: np.ndarray,
    exposure: np.ndarray,
    cuts: np.ndarray,
    margin_hr: float,
    seed: int,
    tune: int,
    draws: int,
    chains: int = 1,
) -> np.ndarray:
    """Posterior P(HR < margin_hr), (trial, prior), of trials' events and exposure (trial, 2
    arms, K intervals; arm 0 treatment), all fitted at once."""
    n, n_p, k = events.shape[0], len(model.priors), model.n_intervals
    if events.shape[-1] != k:
        raise ValueError(f"{events.shape[-1]} intervals in the data, {k} in the model")
    start, width = interval_bounds(np.asarray(cuts, dtype=float))
    cells = array_cells(
        model.variant,
        events,
        exposure,
        start,
        width,
        dict(model.priors),
        model.pwe_priors,
        model.median_arrays(n),
    )
    run, _ = sample_cells(cells, chains, tune, draws, seed)
    x = run.draws  # (chain, draw, cell, D)
    if model.variant == "ph":
        log_hr = x[..., k]
    else:  # event-weighted average of the interval log-HRs (share of all events per interval)
        per = events.sum(axis=1)
        total = per.sum(axis=1, keepdims=True)
        w = np.divide(per, total, out=np.full(per.shape, 1.0 / k), where=total > 0)
        log_hr = (x[..., k:] * np.repeat(w, n_p, axis=0)).sum(-1)
    return (log_hr < math.log(margin_hr)).mean(axis=(0, 1)).reshape(n, n_p)
