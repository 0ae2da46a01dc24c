"""The whole re-analysis as one function a notebook can call: audit -> models -> fits ->
decisions -> diagnostics. No files are read or written here (see `results` for that)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
import xarray as xr

from bayes_btc.audit import AuditResult, audit_trial
from bayes_btc.decisions import NI, Kind, decide, describe, ni_rule, noninferiority_table
from bayes_btc.diagnostics import diagnostics_table, divergences, exact_check
from bayes_btc.fit import Progress, _quiet, sample_model
from bayes_btc.models.beta_binomial import BinaryData, build_beta_binomial_model
from bayes_btc.models.loghr_summary import LogHRData, build_loghr_model
from bayes_btc.plan import Plan, Sampler
from bayes_btc.posterior import Fit, fits_from_beta_binomial, fits_from_loghr, summary_table
from bayes_btc.trial import TrialSpec


@dataclass
class Analysis:
    """Everything one run produces, as tables and DataTrees."""

    spec: TrialSpec
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
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        return bool(self.diagnostics["passed"].all())


def endpoint_kinds(spec: TrialSpec, endpoints: list[str]) -> dict[str, Kind]:
    """survival / efficacy / harm for each analysed endpoint."""
    return {e: "survival" if e in spec.survival else spec.binary[e].kind for e in endpoints}


def endpoint_label(spec: TrialSpec, endpoint: str) -> str:
    s = spec.survival.get(endpoint) or spec.binary[endpoint]
    return s.label


def run_analysis(
    spec: TrialSpec,
    plan: Plan,
    *,
    quick: bool = False,
    seed: int | None = None,
    progress: Progress = _quiet,
) -> Analysis:
    """Audit the published numbers, fit every model family once, and derive the results."""
    t_start = time.perf_counter()
    sampler = plan.sampler_quick if quick else plan.sampler
    if seed is not None:
        sampler = sampler.model_copy(update={"seed": seed})
    endpoints = plan.select_endpoints([*spec.survival, *spec.binary])
    kinds = endpoint_kinds(spec, endpoints)
    audit = audit_trial(spec, endpoints)
    progress(f"audit: {len(audit.table)} checks, {audit.n_findings} inconsistencies found")

    trees: dict[str, xr.DataTree] = {}
    fits: list[Fit] = []
    surv = [e for e in endpoints if kinds[e] == "survival"]
    if surv:
        priors = {k: v.normal for k, v in plan.priors.log_hr.items()}
        model = build_loghr_model(LogHRData.from_trial(spec, surv), priors)
        trees["loghr_summary"] = sample_model(model, sampler, "loghr_summary", progress)
        fits += fits_from_loghr(trees["loghr_summary"])
    if audit.counts:
        priors = {k: (v.a, v.b) for k, v in plan.priors.rate.items()}
        data = BinaryData.from_counts(audit.counts, spec.arm_order)
        model = build_beta_binomial_model(data, priors)
        trees["beta_binomial"] = sample_model(model, sampler, "beta_binomial", progress)
        fits += fits_from_beta_binomial(trees["beta_binomial"])

    progress("summarising posteriors, decisions and diagnostics")
    summary = summary_table(fits)
    ni = noninferiority_table(fits, kinds, plan)
    exact = exact_check(fits, kinds, plan)
    diag = diagnostics_table(
        fits, summary, exact, {k: divergences(t) for k, t in trees.items()}, plan
    )
    treatment, control = spec.arm_order
    at_margin = exact[exact["estimand"] == NI]
    decisions = at_margin[
        ["endpoint", "model", "prior", "margin", "probability_mcmc", "probability_exact"]
    ].reset_index(drop=True)
    decisions["non_inferior"] = [
        decide(p, plan.decision_threshold) for p in decisions["probability_exact"]
    ]
    decisions["statement"] = [
        describe(
            r.endpoint,
            endpoint_label(spec, r.endpoint),
            r.model,
            r.prior,
            ni_rule(kinds[r.endpoint], plan),
            r.probability_mcmc,
            plan.decision_threshold,
            treatment,
            control,
            mcse=r.mcse,
            exact=r.probability_exact,
        )
        for r in at_margin.itertuples()
    ]
    seconds = {
        f"{k}_{s}": float(t["posterior"].attrs[f"{s}_seconds"])
        for k, t in trees.items()
        for s in ("compile", "sampling")
    }
    seconds["total"] = time.perf_counter() - t_start
    return Analysis(
        spec,
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
        seconds,
    )
