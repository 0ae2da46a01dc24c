"""Meta-analytic-predictive (MAP) priors for the control arm, from earlier trials.

Fits the random-effects meta-analysis (`models/map_meta.py`), takes the predictive draws for a
new trial's control arm, approximates them by a mixture (Beta mixture for a response rate,
normal mixture for a log median in months) and robustifies it with a vague component:
    robust = (1 - w) MAP + w vague,   vague = Beta(1, 1), or Normal(MAP mean, 1) on the log
median (the information of about one event, since SE(log median) ~ 1/sqrt(events)).
Each prior's effective sample size (ELIR, Neuenschwander et al. 2020; patients for a rate,
events for a log median) and how well the mixture matches the draws are reported.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from bayes_btc.inference.map_exact import sample_map
from bayes_btc.inference.mcmc_stats import rhat_ess_bulk
from bayes_btc.inference.sampling import Progress, quiet
from bayes_btc.inputs.historical import (
    BinomialSeries,
    HistoricalData,
    LogMedianSeries,
    binomial_series,
    log_median_series,
)
from bayes_btc.inputs.plan import HistoricalSettings, Sampler
from bayes_btc.models.map_meta import MetaData, build_map_model
from bayes_btc.priors.ess import ess_all
from bayes_btc.priors.map_mcse import UNIT_SD_LOG_MEDIAN, ess_mcse_each
from bayes_btc.priors.mixture_fit import fit_beta_mixture, fit_normal_mixture, ks_distance
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture
from bayes_btc.threads import threaded_map

MIXTURE_FIT_DRAWS = 100_000  # predictive draws the EM fit uses (all, or thinned evenly)
TABLE_COLUMNS = [
    "endpoint",
    "prior",
    "scale",
    "mixture",
    "ess",
    "ess_mcse",
    "ess_unit",
    "ess_moment",
    "ess_morita",
    "n_trials",
    "tau_median",
    "q2.5",
    "q50",
    "q97.5",
    "draws_q2.5",
    "draws_q50",
    "draws_q97.5",
    "ks_distance",
    "converged",
]


@dataclass(frozen=True)
class MAPPrior:
    """One endpoint's MAP prior for the control arm and its robust version."""

    endpoint: str
    scale: str  # "rate" or "log_median" (log months)
    map: BetaMixture | NormalMixture
    robust: BetaMixture | NormalMixture
    draws: np.ndarray = field(repr=False)

    def get(self, ref: str) -> BetaMixture | NormalMixture:
        """The prior a plan names: 'historical' (MAP) or 'historical_robust'."""
        return self.robust if ref == "historical_robust" else self.map


@dataclass
class HistoricalPriors:
    priors: dict[str, MAPPrior]
    table: pd.DataFrame  # historical_priors.csv: one row per endpoint x prior
    trials: pd.DataFrame  # historical_trials.csv: the meta-analysed inputs
    tree: xr.DataTree
    converged: bool
    data_sha256: str = ""  # of the historical data file
    about: dict[str, object] = field(default_factory=dict)  # the file's title, regimen, ...
    seconds: dict[str, float] = field(default_factory=dict)  # sampling; per-endpoint summed


def thin(draws: np.ndarray, keep: int = MIXTURE_FIT_DRAWS) -> np.ndarray:
    """Every k-th draw, at most `keep` of them: enough for a 3-component mixture fit, and the
    fit is then checked against all draws (ks_distance)."""
    return draws[:: max(1, -(-len(draws) // keep))]


def _trials_table(meta: MetaData) -> pd.DataFrame:
    rows = [
        {
            "endpoint": s.endpoint,
            "trial": t,
            "scale": "rate",
            "value": k / n,
            "events": k,
            "n": n,
            "se": np.nan,
            "basis": note,
            "assumed": assumed,
        }
        for s in meta.binomial
        for t, k, n, note, assumed in zip(s.trials, s.events, s.n, s.notes, s.assumed, strict=True)
    ]
    rows += [
        {
            "endpoint": s.endpoint,
            "trial": t,
            "scale": "median_months",
            "value": float(np.exp(y)),
            "events": np.nan,
            "n": np.nan,
            "se": se,
            "basis": f"SE of the log median: {b}",
            "assumed": "assumes" in b,
        }
        for s in meta.log_median
        for t, y, se, b in zip(s.trials, s.log_median, s.se, s.se_basis, strict=True)
    ]
    return pd.DataFrame(rows)


def _robust(
    mix: BetaMixture | NormalMixture, scale: str, settings: HistoricalSettings
) -> BetaMixture | NormalMixture:
    """The robust version of a MAP mixture: Beta(1, 1), or Normal(MAP mean, SD) on the log
    median, as the vague component."""
    if scale == "rate":
        return mix.robustify(settings.robust_weight)
    vague = NormalMixture.single(float(mix.mean()), settings.vague_log_median_sd)
    return mix.robustify(settings.robust_weight, vague)  # type: ignore[arg-type]


def _row(
    p: MAPPrior, name: str, n_trials: int, tau: float, ok: bool, mcse: float, ks: float,
    draws_q: dict[str, float],
) -> dict:  # fmt: skip
    """One row of historical_priors.csv; `ks` is the MAP mixture's KS distance to the draws
    and `draws_q` the draws' quantiles (both the same for both priors of an endpoint)."""
    mix = p.get(name)
    rate = p.scale == "rate"
    by = ess_all(mix, None if rate else UNIT_SD_LOG_MEDIAN)
    ess = by["elir"] if np.isfinite(by["elir"]) else by["moment"]  # ELIR diverges below 1
    show = (lambda x: x) if rate else np.exp  # medians shown in months
    q = show(np.asarray(mix.quantile(np.array([0.025, 0.5, 0.975]))))
    return {
        "endpoint": p.endpoint,
        "prior": name,
        "scale": "control rate" if rate else "control log median (quantiles in months)",
        "mixture": mix.describe(),
        "ess": ess,
        "ess_mcse": mcse,
        "ess_unit": "patients" if rate else "events",
        "ess_moment": by["moment"],
        "ess_morita": by["morita"],
        "n_trials": n_trials,
        "tau_median": tau,
        "q2.5": float(q[0]),
        "q50": float(q[1]),
        "q97.5": float(q[2]),
        **draws_q,
        "ks_distance": ks,
        "converged": ok,
    }


@dataclass
class _Derived:
    prior: MAPPrior
    rows: list[dict]
    seconds: dict[str, float]


def _derive(
    s: BinomialSeries | LogMedianSeries, scale: str, new: np.ndarray, tau: np.ndarray,
    tau_median: float, divergent: int, settings: HistoricalSettings,
) -> _Derived:  # fmt: skip
    """One endpoint's MAP prior from the meta-analysis draws of its predictive `new` and its
    `tau` (chain, draw): mixture fit, robust version, ESS jackknife and its rows of
    historical_priors.csv, with the seconds of each."""
    seconds = {"mixture": 0.0, "jackknife": 0.0, "table": 0.0}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        seconds[name] += now - clock[0]
        clock[0] = now

    r_hat, ess_bulk = rhat_ess_bulk(np.stack([new, tau]))
    ok = divergent == 0 and bool(np.all(r_hat <= 1.01) and np.all(ess_bulk >= 400))
    draws = np.asarray(new, dtype=float).ravel()  # chain-major
    used = thin(draws)
    if scale == "rate":
        mix: BetaMixture | NormalMixture = fit_beta_mixture(used, settings.max_components)
    else:
        mix = fit_normal_mixture(used, settings.max_components)
    robust = _robust(mix, scale, settings)
    p = MAPPrior(s.endpoint, scale, mix, robust, draws)
    lap("mixture")
    robustify = functools.partial(_robust, scale=scale, settings=settings)
    derived = {"historical": lambda m: m, "historical_robust": robustify}
    mcse = ess_mcse_each(used, mix, scale, derived)
    lap("jackknife")
    ks = ks_distance(mix, draws)
    show = (lambda x: x) if scale == "rate" else np.exp  # medians shown in months
    draws_q = {f"draws_q{x:g}": float(show(np.quantile(draws, x / 100))) for x in (2.5, 50, 97.5)}
    rows = [
        _row(p, name, len(s.trials), tau_median, ok, err, ks, draws_q) for name, err in mcse.items()
    ]
    lap("table")
    return _Derived(p, rows, seconds)


def derive_map_priors(
    data: HistoricalData,
    endpoints: list[str] | Mapping[str, str],
    settings: HistoricalSettings,
    sampler: Sampler,
    progress: Progress = quiet,
) -> HistoricalPriors | None:
    """MAP priors for the endpoints with historical data (None if there are none).

    `endpoints` maps each trial endpoint to the data file's endpoint it borrows from (a list:
    the same names).
    `sampler` supplies the cores and seed; chains, draws and target acceptance come from the
    plan's `historical` settings."""
    targets = endpoints if isinstance(endpoints, Mapping) else {e: e for e in endpoints}
    rates = [
        replace(s, endpoint=e)
        for e, h in targets.items()
        if (s := binomial_series(data, h)) is not None
    ]
    medians = [
        replace(s, endpoint=e)
        for e, h in targets.items()
        if (s := log_median_series(data, h)) is not None
    ]
    if not rates and not medians:
        return None
    meta = MetaData(rates, medians)
    model = build_map_model(meta, settings.tau_scale_logit, settings.tau_scale_log_median)
    run = sampler.model_copy(
        update={
            "chains": settings.chains,
            "draws": settings.draws,
            "target_accept": settings.target_accept,
        }
    )
    progress(f"MAP priors from {len(data.trial)} earlier control arms")
    start = time.perf_counter()
    tree = sample_map(model, meta, settings, run, progress)
    # wall seconds of sampling; of the other phases summed over endpoints (run side by side)
    seconds = {"sampling": time.perf_counter() - start}
    seconds |= dict.fromkeys(("mixture", "jackknife", "table"), 0.0)
    post = tree["posterior"].to_dataset()
    divergent = int(tree["sample_stats"]["diverging"].sum())
    jobs = []
    for series, var, dim in ((rates, "rate", "rate"), (medians, "log_median", "median")):
        for s in series:
            new, tau = (
                post[f"{var}_{q}"].sel({f"{dim}_endpoint": s.endpoint}) for q in ("new", "tau")
            )
            chain_draw = [x.transpose("chain", "draw").values for x in (new, tau)]
            jobs.append(
                (s, "rate" if var == "rate" else "log_median", *chain_draw, float(tau.median()))
            )

    def one(job: tuple) -> _Derived:
        return _derive(*job, divergent, settings)

    done = threaded_map(one, jobs)  # endpoints side by side (each also splits its own work)
    priors = {d.prior.endpoint: d.prior for d in done}
    rows = [row for d in done for row in d.rows]
    for d in done:
        for name, sec in d.seconds.items():
            seconds[name] += sec
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    trials = _trials_table(meta)
    trials["reference"] = trials["trial"].map({t.name: t.reference for t in data.trial})
    about = {
        "title": data.title,
        "regimen": data.regimen,
        "population": data.population,
        "borrowed": {e: h for e, h in targets.items() if e in priors},
    }
    converged = bool(table["converged"].all())
    return HistoricalPriors(priors, table, trials, tree, converged, about=about, seconds=seconds)
