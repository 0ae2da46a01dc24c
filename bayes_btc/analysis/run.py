"""The whole re-analysis as one function a notebook can call: audit -> models -> fits ->
decisions -> diagnostics -> tipping point, assumptions and figure specs. No files are read or
written here (see `bayes_btc.output` for that)."""

from __future__ import annotations

import time

import pandas as pd
import xarray as xr

from bayes_btc.analysis.ard import ard_table
from bayes_btc.analysis.assumptions import assumptions
from bayes_btc.analysis.cox_check import cox_check_table, cox_references, cox_warnings
from bayes_btc.analysis.figures import figure_specs
from bayes_btc.analysis.oc_fit import exact_oc
from bayes_btc.analysis.phases import Laps
from bayes_btc.analysis.result import Analysis, Tipping
from bayes_btc.decisions.rules import endpoint_rules
from bayes_btc.decisions.tables import (
    decision_table,
    mark_failed,
    noninferiority_table,
    with_prior_ess,
)
from bayes_btc.decisions.tipping import tipping_table
from bayes_btc.decisions.tipping_words import tipping_sentences, weakest_flip
from bayes_btc.errors import InputError
from bayes_btc.inference import precompile
from bayes_btc.inference.diagnostics import diagnostics_table, divergences
from bayes_btc.inference.exact_check import exact_check
from bayes_btc.inference.exact_sampling import labelled, sample_conjugate
from bayes_btc.inference.mcse_target import draws_for_target, flag_missed, worst_mcse
from bayes_btc.inference.pooling import pool, spread_table, worst_per_set
from bayes_btc.inference.pwe_sampling import sample_pwe
from bayes_btc.inference.sampling import Progress, quiet
from bayes_btc.inference.summary import summary_table
from bayes_btc.inputs.adam_folder import AdamData
from bayes_btc.inputs.audit import AuditResult, audit_ipd, audit_trial
from bayes_btc.inputs.datakey import DataKey, reconstructed_model
from bayes_btc.inputs.historical import HistoricalData, load_historical
from bayes_btc.inputs.ipd import SurvivalIPD
from bayes_btc.inputs.plan import Plan, Sampler
from bayes_btc.inputs.study import Study
from bayes_btc.inputs.trial import EndpointKind, TrialSpec
from bayes_btc.models.beta_binomial import (
    BinaryData,
    build_beta_binomial_model,
    fits_from_beta_binomial,
)
from bayes_btc.models.fit import Fit
from bayes_btc.models.loghr_summary import (
    READINGS,
    LogHRData,
    build_loghr_model,
    fits_from_loghr,
)
from bayes_btc.models.pwe import MODEL_NAMES, PWEData, PWEPriors, fits_from_pwe
from bayes_btc.models.pwe_data import PWETable, cuts_by_events, pwe_table, validate_cuts
from bayes_btc.priors.borrowing import Borrowing, borrowing, without_analysed_trial
from bayes_btc.priors.map_prior import HistoricalPriors, derive_map_priors
from bayes_btc.priors.named import (
    control_median_priors,
    loghr_prior_applies,
    loghr_priors,
    rate_priors,
)
from bayes_btc.priors.used import priors_table
from bayes_btc.threads import Background, threaded_map


def endpoint_kinds(spec: TrialSpec | None, endpoints: list[str]) -> dict[str, EndpointKind]:
    """survival / efficacy / harm for each analysed endpoint."""
    if spec is None:
        return dict.fromkeys(endpoints, "survival")
    return {e: spec.kind(e) for e in endpoints}


def pwe_tables(ipd: dict[DataKey, SurvivalIPD], plan: Plan) -> dict[DataKey, PWETable]:
    """Sufficient statistics per data set with the plan's cut points (or its event rule)."""
    out = {}
    for key, d in ipd.items():
        if plan.pwe.cuts is not None:
            where = f"plan pwe.cuts ({key.label})"
            cuts = validate_cuts(plan.pwe.cuts, float(d.time.max()), where)
        else:
            cuts = cuts_by_events(
                d.time,
                d.event,
                plan.pwe.events_per_interval,
                plan.pwe.max_intervals,
                d.arm_index(),
            )
        out[key] = pwe_table(d.time, d.event, d.arm_index(), cuts)
    return out


def fit_pwe(
    tables: dict[DataKey, PWETable],
    plan: Plan,
    sampler: Sampler,
    study: Study,
    progress: Progress,
    trees: dict[str, xr.DataTree],
    historical: HistoricalPriors | None = None,
) -> list[Fit]:
    """Fit the PH and non-PH PWE models (one compile each) to every data set in `tables`;
    models on reconstructed sets are named `<model>_reconstructed`."""
    priors = loghr_priors(plan, with_baseline=True)
    endpoints = sorted({k.endpoint for k in tables})
    by_endpoint = control_median_priors(plan, endpoints, historical)
    medians = {(k.label, p): by_endpoint[(k.endpoint, p)] for k in tables for p in priors}
    s = plan.pwe
    pp = PWEPriors(
        s.baseline_log_hazard_mean, s.baseline_log_hazard_sd, s.smoothing_sd, s.hr_smoothing_sd
    )
    data = PWEData([k.label for k in tables], list(tables.values()))
    reconstructed = any(k.reconstructed for k in tables)

    def family(variant: str) -> tuple[str, xr.DataTree, list[Fit]]:
        name = reconstructed_model(MODEL_NAMES[variant]) if reconstructed else MODEL_NAMES[variant]
        tree = sample_pwe(data, priors, variant, pp, medians, sampler, name, progress)
        fits = fits_from_pwe(
            tree, tables, study.arms, name, s.landmarks_months, s.rmst_horizon_months
        )
        kept = [f for f in fits if loghr_prior_applies(plan, f.endpoint, f.prior, historical)]
        return name, tree, kept

    # The two families share nothing: with HMC each runs in its own thread (its compiled
    # loops release the GIL), so one family's numpy work overlaps the other's trajectories.
    # Each family's draws are the same as alone; results are kept in the families' order.
    variants = list(MODEL_NAMES)
    done = threaded_map(family, variants) if sampler.pwe == "hmc" else map(family, variants)
    fits: list[Fit] = []
    for name, tree, family_fits in done:
        trees[name] = tree
        fits += family_fits
    return fits


def run_analysis(
    spec: TrialSpec | None,
    plan: Plan,
    *,
    ipd: dict[str, SurvivalIPD] | None = None,
    reconstructed: dict[str, list[SurvivalIPD]] | None = None,
    adam: AdamData | None = None,
    quick: bool = False,
    seed: int | None = None,
    progress: Progress = quiet,
) -> Analysis:
    """Audit the inputs, fit every model family once, and derive the results.

    `spec` is a published-summary trial (summary log-HR and beta-binomial models); `ipd` is
    patient-level survival data per endpoint (PWE PH and non-PH models); `reconstructed` is
    several reconstructed data sets per endpoint, fitted set by set (batched) and pooled
    (models `pwe_ph_reconstructed`, `pwe_nonph_reconstructed`). `adam` is a CDISC ADaM
    folder: its ADTTE parameters are patient data as `ipd`, its response and adverse-event
    counts go to the beta-binomial model.
    """
    t_start = time.perf_counter()
    lap = Laps()
    ipd = ipd or (adam.survival if adam is not None else {})
    binary = adam.binary if adam is not None else {}
    if spec is None and not ipd and not binary:
        raise ValueError("nothing to analyse: give a trial spec, patient data or both")
    sampler = plan.sampler_quick if quick else plan.sampler
    if seed is not None:
        sampler = sampler.model_copy(update={"seed": seed})
    if adam is not None:
        study = adam.study()
    else:
        study = Study.from_trial(spec) if spec is not None else Study.from_ipd(ipd)
    available = [*(spec.survival if spec else {}), *ipd, *(spec.binary if spec else {}), *binary]
    endpoints = plan.select_endpoints(list(dict.fromkeys(available)))
    kinds = endpoint_kinds(spec, endpoints) | {e: binary[e].kind for e in endpoints if e in binary}
    rules = endpoint_rules(plan, kinds)
    own = {DataKey(e): d for e, d in ipd.items() if e in endpoints}
    own_tables = pwe_tables(own, plan)  # validates cut points before any sampling
    hist_data = load_historical(plan.historical.data) if plan.uses_historical else None
    own_trial: list[str] = []
    if hist_data is not None and spec is not None:
        trimmed, own_trial = without_analysed_trial(hist_data[0], spec.trial.id)
        hist_data = (trimmed, hist_data[1])
    borrowed = (  # refuses an arm or endpoint the data do not declare, before any sampling
        borrowing_for(hist_data[0], plan, spec, study, kinds) if hist_data else Borrowing({})
    )
    audit = audit_trial(spec, endpoints) if spec is not None else audit_ipd(ipd_by_name(own))
    audit = adam.audit(audit, endpoints) if adam is not None else audit
    progress(f"audit: {len(audit.table)} checks, {audit.n_findings} inconsistencies found")
    lap("audit")
    # a cold cache's compiles overlap the historical priors (joined before returning)
    loops = precompile.start(
        pwe=sampler.pwe == "hmc" and bool(ipd or reconstructed), mixtures=hist_data is not None
    )
    # the tipping-point grid needs only the inputs: it fills the cores the fits leave idle
    tipping = Background(tipping_point, spec, plan, audit, endpoints)

    trees: dict[str, xr.DataTree] = {}
    target = sampler.mcse_target
    fits: list[Fit] = []
    historical = None
    if hist_data is not None:
        data, sha = hist_data
        if borrowed.endpoints:  # the analysed trial left out: only worth saying if borrowed
            borrowed.notes[:0] = own_trial
        for note in borrowed.notes:
            progress(note)
        historical = (
            derive_map_priors(data, borrowed.endpoints, plan.historical, sampler, progress)
            if borrowed.endpoints
            else None
        )
        if historical is not None:
            historical.data_sha256 = sha
            trees["map_meta"] = historical.tree
    lap("historical")
    surv = [e for e in endpoints if spec is not None and e in spec.survival]
    summary_priors = loghr_priors(plan, with_baseline=False)
    if surv and summary_priors:  # historical-only priors have nothing to add without a baseline
        flagged = inverted_endpoints(plan, audit, surv)
        data_hr = LogHRData.from_trial(spec, surv, inverted=bool(flagged))
        model = build_loghr_model(data_hr, summary_priors)
        trees["loghr_summary"] = sample_conjugate(model, sampler, "loghr_summary", progress)
        fits += [
            f
            for f in labelled(fits_from_loghr(trees["loghr_summary"]), trees["loghr_summary"])
            if f.model != READINGS["inverted"] or f.endpoint in flagged
        ]
    lap("loghr_summary")
    if own:
        own_fits = fit_pwe(own_tables, plan, sampler, study, progress, trees, historical)
        more = draws_for_target(sampler.draws, worst_mcse(own_fits, rules), target)
        if more:  # a second run sized from the first one's Monte Carlo error
            progress(f"P(NI) MCSE above {target:g}: re-sampling with {more} draws per chain")
            bigger = sampler.model_copy(update={"draws": more})
            own_fits = fit_pwe(own_tables, plan, bigger, study, progress, trees, historical)
        fits += own_fits
    lap("pwe")
    tables = dict(own_tables)
    set_fits: list[Fit] = []
    pooled: list[Fit] = []
    sets = {
        DataKey(e, k + 1): d
        for e, ds in (reconstructed or {}).items()
        if e in endpoints
        for k, d in enumerate(ds)
    }
    if sets:
        n_sets = max(k.dataset or 0 for k in sets)
        n_endpoints = len({k.endpoint for k in sets})
        progress(f"PWE on reconstructed data: {n_endpoints} endpoint(s) x {n_sets} data sets")
        per_set = sampler.model_copy(update={"draws": plan.pwe.reconstructed_draws})
        set_tables = pwe_tables(sets, plan)
        set_fits = fit_pwe(set_tables, plan, per_set, study, progress, trees, historical)
        more = draws_for_target(per_set.draws, worst_mcse(pool(set_fits), rules), target)
        if more:  # a second run sized from the first one's Monte Carlo error
            progress(f"P(NI) MCSE above {target:g}: re-sampling with {more} draws per chain")
            per_set = per_set.model_copy(update={"draws": more})
            set_fits = fit_pwe(set_tables, plan, per_set, study, progress, trees, historical)
        tables |= set_tables
        pooled = pool(set_fits)
        fits += pooled
    lap("pwe_reconstructed")
    cox = Background(cox_references, own | sets)  # lifelines, beside the summaries below
    data = BinaryData.from_counts(audit.counts, study.arms)
    binary_priors = rate_priors(plan, data.endpoints, historical)
    if audit.counts and binary_priors.names:
        model = build_beta_binomial_model(data, binary_priors)
        trees["beta_binomial"] = sample_conjugate(model, sampler, "beta_binomial", progress)
        fits += labelled(fits_from_beta_binomial(trees["beta_binomial"]), trees["beta_binomial"])
    lap("beta_binomial")

    if not fits:
        raise InputError(
            "no model was fitted: none of the plan's priors applies to the analysed endpoints "
            f"({', '.join(endpoints)})" + (f"; {borrowed.notes[0]}" if borrowed.notes else "")
        )
    progress("summarising posteriors, decisions and diagnostics")
    summary = summary_table(fits)
    if set_fits:
        summary = worst_per_set(summary, summary_table(set_fits))
    lap("summary")
    ni = noninferiority_table(fits, rules)
    exact = exact_check(fits, rules, plan.diagnostics.max_exact_gap_mcse)
    diag = diagnostics_table(
        fits,
        summary,
        exact,
        {k: divergences(t) for k, t in trees.items()},
        rules,
        plan.diagnostics,
    )
    decisions = decision_table(fits, exact, rules, plan.decision_threshold, study)
    decisions = with_prior_ess(mark_failed(decisions, diag), plan, historical, study.control)
    decisions = flag_missed(decisions, target)
    seconds = {
        f"{k}_{s}": float(t["posterior"].attrs[f"{s}_seconds"])
        for k, t in trees.items()
        for s in ("compile", "sampling")
    }
    spread = spread_table(set_fits, pooled, rules) if set_fits else pd.DataFrame()
    lap("decisions")
    a = Analysis(
        study,
        plan,
        sampler,
        endpoints,
        kinds,
        rules,
        audit,
        trees,
        fits,
        summary,
        ni,
        exact,
        diag,
        decisions,
        tables,
        own | sets,
        spread,
        spec=spec,
        historical=historical,
        seconds=seconds,
    )
    a.priors = priors_table(plan, fits, study.arms, historical)
    a.historical_notes = borrowed.notes
    a.tipping = tipping.result()
    lap("tipping")
    a.oc_exact = exact_oc(fits, rules, plan.decision_threshold)
    lap("oc_exact")
    a.cox_check = cox_check_table(
        [*fits, *set_fits], own | sets, plan.reference_prior("log_hr"), references=cox.result()
    )
    for line in cox_warnings(a.cox_check):
        progress(line)
    lap("cox_check")
    a.assumptions = assumptions(a) + cox_warnings(a.cox_check)
    a.figures = figure_specs(a)
    a.ard = ard_table(a)
    lap("figure_specs")
    a.seconds |= lap.seconds
    a.seconds["total"] = time.perf_counter() - t_start
    loops.join()
    return a


def inverted_endpoints(plan: Plan, audit: AuditResult, endpoints: list[str]) -> list[str]:
    """Survival endpoints whose inverted HR reading is fitted: those whose printed direction
    the audit finds doubtful (HR against the medians), or all / none as the plan says."""
    if plan.inverted_hr != "auto":
        return list(endpoints) if plan.inverted_hr == "always" else []
    t = audit.table
    doubtful = t[(t["check"] == "hr_direction_vs_medians") & ~t["consistent"].astype(bool)]
    return [e for e in endpoints if e in set(doubtful["endpoint"])]


def borrowing_for(
    data: HistoricalData,
    plan: Plan,
    spec: TrialSpec | None,
    study: Study,
    kinds: dict[str, EndpointKind],
) -> Borrowing:
    """What the historical data may be borrowed for in this run (refused with one line when
    the plan offers them to an arm or endpoint the data file does not declare)."""
    src = plan.historical.data
    where = "bundled with the package" if src == "bundled" else repr(src)
    label = spec.arms[study.control].label if spec is not None else study.control
    return borrowing(data, where, plan.historical, (study.control, label), kinds)


def ipd_by_name(data: dict[DataKey, SurvivalIPD]) -> dict[str, SurvivalIPD]:
    return {k.endpoint: d for k, d in data.items()}


def tipping_point(
    spec: TrialSpec | None, plan: Plan, audit: AuditResult, endpoints: list[str]
) -> Tipping | None:
    """The closed-form tipping-point grid for the published-summary endpoints, if any."""
    if spec is None:
        return None
    table = tipping_table(spec, plan, audit.counts)
    table = table[table["endpoint"].isin(endpoints)]
    if not len(table):
        return None
    threshold = plan.decision_threshold
    flips = {
        e: weakest_flip(table, threshold, endpoint=e) for e in dict.fromkeys(table["endpoint"])
    }
    return Tipping(table, tipping_sentences(spec, plan, audit.counts, table), flips)
