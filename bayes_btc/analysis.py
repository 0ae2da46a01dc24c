"""The whole re-analysis as one function a notebook can call: audit -> models -> fits ->
decisions -> diagnostics. No files are read or written here (see `results` for that)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
import xarray as xr

from bayes_btc.audit import AuditResult, audit_ipd, audit_trial
from bayes_btc.decisions import Kind, decision_table, noninferiority_table
from bayes_btc.diagnostics import diagnostics_table, divergences, exact_check
from bayes_btc.fit import Progress, _quiet, sample_model
from bayes_btc.historical import load_historical
from bayes_btc.historical_priors import HistoricalPriors, derive_map_priors
from bayes_btc.ipd import SurvivalIPD
from bayes_btc.models.beta_binomial import BinaryData, build_beta_binomial_model
from bayes_btc.models.loghr_summary import LogHRData, build_loghr_model
from bayes_btc.models.pwe import MODEL_NAMES, PWEData, PWEPriors, build_pwe_model
from bayes_btc.plan import Plan, Sampler
from bayes_btc.pooling import base_endpoint, pool, set_name, spread_table, worst_per_set
from bayes_btc.posterior import (
    Fit,
    fits_from_beta_binomial,
    fits_from_loghr,
    fits_from_pwe,
    summary_table,
)
from bayes_btc.priors import (
    control_median_priors,
    loghr_prior_applies,
    loghr_priors,
    rate_priors,
)
from bayes_btc.pwe_data import PWETable, cuts_by_events, pwe_table, validate_cuts
from bayes_btc.study import Study
from bayes_btc.trial import TrialSpec

RECONSTRUCTED = "_reconstructed"


@dataclass
class Analysis:
    """Everything one run produces, as tables and DataTrees."""

    study: Study
    plan: Plan
    sampler: Sampler
    endpoints: list[str]
    kinds: dict[str, Kind]
    audit: AuditResult
    trees: dict[str, xr.DataTree]
    fits: list[Fit]
    summary: pd.DataFrame
    noninferiority: pd.DataFrame
    exact: pd.DataFrame
    diagnostics: pd.DataFrame
    decisions: pd.DataFrame  # per fit at the plan margin: probabilities, verdict, sentence
    pwe_tables: dict[str, PWETable] = field(default_factory=dict)
    ipd: dict[str, SurvivalIPD] = field(default_factory=dict)
    spread: pd.DataFrame = field(default_factory=pd.DataFrame)  # P(NI) across recon. sets
    spec: TrialSpec | None = None  # the published-summary spec, when there is one
    historical: HistoricalPriors | None = None  # MAP priors for the control arm, when used
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        return bool(self.diagnostics["passed"].all())


def endpoint_kinds(spec: TrialSpec | None, endpoints: list[str]) -> dict[str, Kind]:
    """survival / efficacy / harm for each analysed endpoint."""
    if spec is None:
        return dict.fromkeys(endpoints, "survival")
    return {e: "survival" if e in spec.survival else spec.binary[e].kind for e in endpoints}


def pwe_tables(ipd: dict[str, SurvivalIPD], plan: Plan) -> dict[str, PWETable]:
    """Sufficient statistics per endpoint with the plan's cut points (or its event rule)."""
    out = {}
    for e, d in ipd.items():
        if plan.pwe.cuts is not None:
            cuts = validate_cuts(plan.pwe.cuts, float(d.time.max()), f"plan pwe.cuts ({e})")
        else:
            cuts = cuts_by_events(
                d.time, d.event, plan.pwe.events_per_interval, plan.pwe.max_intervals
            )
        out[e] = pwe_table(d.time, d.event, d.arm_index(), cuts)
    return out


def _fit_pwe(
    ipd: dict[str, SurvivalIPD],
    plan: Plan,
    sampler: Sampler,
    study: Study,
    progress: Progress,
    trees: dict[str, xr.DataTree],
    suffix: str = "",
    tables: dict[str, PWETable] | None = None,
    historical: HistoricalPriors | None = None,
) -> tuple[dict[str, PWETable], list[Fit]]:
    """Fit the PH and non-PH PWE models (one compile each) to every endpoint of `ipd`."""
    tables = tables if tables is not None else pwe_tables(ipd, plan)
    priors = loghr_priors(plan, with_baseline=True)
    bases = {e: base_endpoint(e) for e in tables}
    by_base = control_median_priors(plan, sorted(set(bases.values())), historical)
    medians = {(e, p): by_base[(b, p)] for e, b in bases.items() for p in priors}
    s = plan.pwe
    pp = PWEPriors(
        s.baseline_log_hazard_mean, s.baseline_log_hazard_sd, s.smoothing_sd, s.hr_smoothing_sd
    )
    data = PWEData(list(tables), list(tables.values()))
    fits: list[Fit] = []
    for variant, base in MODEL_NAMES.items():
        name = base + suffix
        model = build_pwe_model(data, priors, variant, pp, medians)
        trees[name] = sample_model(model, sampler, name, progress)
        fits += [
            f
            for f in fits_from_pwe(
                trees[name], tables, study.arms, name, s.landmarks_months, s.rmst_horizon_months
            )
            if loghr_prior_applies(plan, bases[f.endpoint], f.prior, historical)
        ]
    return tables, fits


def mark_failed(decisions: pd.DataFrame, diag: pd.DataFrame) -> pd.DataFrame:
    """A decision from a fit that failed its diagnostics is never presented as clean."""
    ok = diag.set_index(["endpoint", "model", "prior"])["passed"]
    passed = [bool(ok[(r.endpoint, r.model, r.prior)]) for r in decisions.itertuples()]
    out = decisions.assign(diagnostics_passed=passed)
    out.loc[~out["diagnostics_passed"], "statement"] += (
        " DIAGNOSTICS FAILED for this fit: the probability is not reliable."
    )
    return out


def with_prior_ess(
    decisions: pd.DataFrame, plan: Plan, historical: HistoricalPriors | None, control: str
) -> pd.DataFrame:
    """Column `prior_ess`: what a historical MAP prior on the control arm is worth (patients
    for a rate, events for a median), also said in the statement; NaN for other priors."""
    out = decisions.assign(prior_ess=float("nan"))
    if historical is None:
        return out
    median_refs = {k: v.control_median for k, v in plan.priors.log_hr.items()}
    rate_refs = {k: v.control for k, v in plan.priors.rate.items() if isinstance(v.control, str)}
    table = historical.table.set_index(["endpoint", "prior"])
    for i, r in out.iterrows():
        refs = rate_refs if r["model"] == "beta_binomial" else median_refs
        key = (base_endpoint(r["endpoint"]), refs.get(r["prior"]) or "")
        if key in table.index:
            ess, unit = table.loc[key, "ess"], table.loc[key, "ess_unit"]
            out.loc[i, "prior_ess"] = ess
            out.loc[i, "statement"] += (
                f" The {control} prior ({key[1].replace('_', ' ')} MAP) is worth about "
                f"{ess:.0f} {unit} (ESS)."
            )
    return out


def run_analysis(
    spec: TrialSpec | None,
    plan: Plan,
    *,
    ipd: dict[str, SurvivalIPD] | None = None,
    reconstructed: dict[str, list[SurvivalIPD]] | None = None,
    quick: bool = False,
    seed: int | None = None,
    progress: Progress = _quiet,
) -> Analysis:
    """Audit the inputs, fit every model family once, and derive the results.

    `spec` is a published-summary trial (summary log-HR and beta-binomial models); `ipd` is
    patient-level survival data per endpoint (PWE PH and non-PH models); `reconstructed` is
    several reconstructed data sets per endpoint, fitted set by set (batched) and pooled
    (models `pwe_ph_reconstructed`, `pwe_nonph_reconstructed`).
    """
    t_start = time.perf_counter()
    ipd = ipd or {}
    if spec is None and not ipd:
        raise ValueError("nothing to analyse: give a trial spec, patient data or both")
    sampler = plan.sampler_quick if quick else plan.sampler
    if seed is not None:
        sampler = sampler.model_copy(update={"seed": seed})
    study = Study.from_trial(spec) if spec is not None else Study.from_ipd(ipd)
    available = [*(spec.survival if spec else {}), *ipd, *(spec.binary if spec else {})]
    endpoints = plan.select_endpoints(list(dict.fromkeys(available)))
    kinds = endpoint_kinds(spec, endpoints)
    ipd = {e: d for e, d in ipd.items() if e in endpoints}
    ipd_tables = pwe_tables(ipd, plan)  # validates cut points before any sampling
    audit = audit_trial(spec, endpoints) if spec is not None else audit_ipd(ipd)
    progress(f"audit: {len(audit.table)} checks, {audit.n_findings} inconsistencies found")

    trees: dict[str, xr.DataTree] = {}
    fits: list[Fit] = []
    historical = None
    if plan.uses_historical:
        data, sha = load_historical(plan.historical.data)
        historical = derive_map_priors(data, endpoints, plan.historical, sampler, progress)
        if historical is not None:
            historical.data_sha256 = sha
            trees["map_meta"] = historical.tree
    surv = [e for e in endpoints if spec is not None and e in spec.survival]
    summary_priors = loghr_priors(plan, with_baseline=False)
    if surv and summary_priors:  # historical-only priors have nothing to add without a baseline
        model = build_loghr_model(LogHRData.from_trial(spec, surv), summary_priors)
        trees["loghr_summary"] = sample_model(model, sampler, "loghr_summary", progress)
        fits += fits_from_loghr(trees["loghr_summary"])
    tables: dict[str, PWETable] = {}
    if ipd:
        tables, pwe_fits = _fit_pwe(
            ipd, plan, sampler, study, progress, trees, tables=ipd_tables, historical=historical
        )
        fits += pwe_fits
    set_fits: list[Fit] = []
    pooled: list[Fit] = []
    recon = {e: sets for e, sets in (reconstructed or {}).items() if e in endpoints}
    if recon:
        by_set = {set_name(e, k + 1): d for e, sets in recon.items() for k, d in enumerate(sets)}
        n_sets = max(len(v) for v in recon.values())
        progress(f"PWE on reconstructed data: {len(recon)} endpoint(s) x {n_sets} data sets")
        per_set = sampler.model_copy(update={"draws": plan.pwe.reconstructed_draws})
        set_tables, set_fits = _fit_pwe(
            by_set, plan, per_set, study, progress, trees, RECONSTRUCTED, historical=historical
        )
        tables |= set_tables
        ipd = ipd | by_set
        pooled = pool(set_fits)
        fits += pooled
    data = BinaryData.from_counts(audit.counts, study.arms)
    binary_priors = rate_priors(plan, data.endpoints, historical)
    if audit.counts and binary_priors.names:
        model = build_beta_binomial_model(data, binary_priors)
        trees["beta_binomial"] = sample_model(model, sampler, "beta_binomial", progress)
        fits += fits_from_beta_binomial(trees["beta_binomial"])

    progress("summarising posteriors, decisions and diagnostics")
    summary = summary_table(fits)
    if set_fits:
        summary = worst_per_set(summary, summary_table(set_fits))
    ni = noninferiority_table(fits, kinds, plan)
    exact = exact_check(fits, kinds, plan)
    diag = diagnostics_table(
        fits, summary, exact, {k: divergences(t) for k, t in trees.items()}, plan, kinds
    )
    decisions = mark_failed(decision_table(fits, exact, kinds, plan, study), diag)
    decisions = with_prior_ess(decisions, plan, historical, study.arms[1])
    seconds = {
        f"{k}_{s}": float(t["posterior"].attrs[f"{s}_seconds"])
        for k, t in trees.items()
        for s in ("compile", "sampling")
    }
    seconds["total"] = time.perf_counter() - t_start
    spread = spread_table(set_fits, pooled, kinds, plan) if set_fits else pd.DataFrame()
    return Analysis(
        study,
        plan,
        sampler,
        endpoints,
        kinds,
        audit,
        trees,
        fits,
        summary,
        ni,
        exact,
        diag,
        decisions,
        tables,
        ipd,
        spread,
        spec=spec,
        historical=historical,
        seconds=seconds,
    )
