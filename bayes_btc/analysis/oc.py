"""Operating characteristics of the plan's decision rules on the trial's own design.

For every endpoint x model x prior: P(declare NI) under true effects (type I error at the
margin, power at no difference), exactly for binary endpoints (`simulation/binary_exact.py`)
and the summary-level log-HR model (`simulation/loghr_exact.py`; its inverted reading where
the fit fits it), by simulated patient-level trials for the PWE PH and non-PH models
(`simulation/scaleout.py`, Monte Carlo SE beside each; historical priors with their MAP prior
on the control median), and the Bayesian OC: P(correct decision) averaged over a design prior
of true effects.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from bayes_btc.analysis.oc_calibration import calibration_table, calibration_tasks
from bayes_btc.analysis.oc_priors import historical_notes, oc_historical, pwe_sim_model
from bayes_btc.analysis.run import inverted_endpoints
from bayes_btc.decisions.rules import EndpointRules, endpoint_rules
from bayes_btc.inputs.audit import AuditResult, audit_trial, se_from_ci
from bayes_btc.inputs.oc_settings import OCSettings
from bayes_btc.inputs.plan import Plan
from bayes_btc.inputs.trial import TrialSpec
from bayes_btc.models.loghr_summary import MODEL, READINGS
from bayes_btc.priors.map_prior import HistoricalPriors
from bayes_btc.priors.named import loghr_priors, rate_priors
from bayes_btc.simulation.binary_exact import BinaryDesign, decision_matrix, p_declare
from bayes_btc.simulation.calibration import run_task
from bayes_btc.simulation.loghr_exact import p_declare_hr
from bayes_btc.simulation.pwe_sim import PWESimModel
from bayes_btc.simulation.scaleout import Checkpoint, Progress, chunk_tasks, run_tasks
from bayes_btc.simulation.survival_sim import SurvivalTruth, design_cuts

OC_COLUMNS = [
    "endpoint",
    "model",
    "prior",
    "scenario",
    "control_value",
    "effect",
    "method",
    "n_trials",
    "p_declare",
    "mcse",
]
DESIGN_COLUMNS = [
    "endpoint",
    "model",
    "prior",
    "control_value",
    "design_prior",
    "method",
    "p_correct",
    "p_declare",
    "p_wrong_declare",
]


@dataclass
class OCResult:
    """oc.csv rows, the design-prior (Bayesian) OCs, and what the run assumed or left out."""

    table: pd.DataFrame
    design: pd.DataFrame
    margins: dict[str, float]  # endpoint -> NI margin (HR or rate difference)
    threshold: float
    notes: list[str] = field(default_factory=list)
    calibration: pd.DataFrame | None = None  # reconstruction_calibration.csv


def _grid(values: list[float], *extra: float) -> list[float]:
    return sorted({round(float(v), 10) for v in [*values, *extra]})


def _arm_sizes(spec: TrialSpec, endpoint: str) -> tuple[int, int]:
    """(treatment, control) patients of a survival endpoint: the evaluable number split in the
    randomisation ratio when the endpoint was analysed in the evaluable population."""
    t, c = (spec.arms[a].randomised for a in spec.arm_order)
    if spec.survival[endpoint].population == "evaluable" and spec.evaluable is not None:
        n = spec.evaluable.n
        n_t = round(n * t / (t + c))
        return n_t, n - n_t
    return t, c


def _correct(truth_ni: np.ndarray, declare: np.ndarray) -> np.ndarray:
    return np.where(truth_ni, declare, 1.0 - declare)


def binary_oc(
    spec: TrialSpec,
    plan: Plan,
    endpoints: list[str],
    rules: dict[str, EndpointRules],
    historical: HistoricalPriors | None,
) -> tuple[list[dict], list[dict]]:
    """Exact OCs of the beta-binomial model for every binary endpoint and rate prior."""
    settings = plan.operating_characteristics
    counts = audit_trial(spec, endpoints).counts
    priors = rate_priors(plan, endpoints, historical)
    rows, design = [], []
    dp = settings.design_prior
    for e in endpoints:
        rule = rules[e].ni
        n_t, n_c = (counts[e][a][1] for a in spec.arm_order)
        k_c, _ = counts[e][spec.trial.control]
        shifts = sorted(settings.rates.control_shift, key=abs)  # smallest first (drawn)
        observed = [k_c / n_c + s for s in shifts if 0.0 < k_c / n_c + s < 1.0]
        controls = settings.rates.control or observed
        diffs = _grid(settings.rates.difference, rule.margin, 0.0)
        for p in priors.names:
            prior_t, prior_c = priors.cells[(e, 0, p)], priors.cells[(e, 1, p)]
            if prior_t is None or prior_c is None:
                continue
            d = BinaryDesign(
                n_t, n_c, prior_t, prior_c, rule.direction, rule.margin, plan.decision_threshold
            )
            dec = decision_matrix(d)
            for pc in controls:
                for diff in diffs:
                    pt_ = pc + diff
                    if not 0.0 <= pt_ <= 1.0:
                        continue
                    rows.append(
                        _row(
                            e,
                            "beta_binomial",
                            p,
                            f"control={pc:.4g} diff={diff:+.4g}",
                            pc,
                            diff,
                            "exact",
                            np.nan,
                            float(p_declare(dec, pt_, pc)[0]),
                            0.0,
                        )
                    )
                # Bayesian OC: true difference ~ Normal(mean, sd) within the feasible range
                x = np.linspace(-pc, 1.0 - pc, 801)
                w = stats.norm.pdf(x, dp.rate_diff_mean, dp.rate_diff_sd)
                w /= w.sum()
                declare = p_declare(dec, pc + x, np.full_like(x, pc))
                ni = (x > rule.margin) if rule.direction == ">" else (x < rule.margin)
                design.append(
                    _design_row(
                        e,
                        "beta_binomial",
                        p,
                        pc,
                        f"diff~N({dp.rate_diff_mean:g},{dp.rate_diff_sd:g})",
                        "exact",
                        w,
                        ni,
                        declare,
                    )
                )
    return rows, design


def _row(
    e: str,
    model: str,
    prior: str,
    scenario: str,
    control: float,
    effect: float,
    method: str,
    n: float,
    p: float,
    mcse: float,
) -> dict:
    return dict(
        zip(
            OC_COLUMNS,
            [e, model, prior, scenario, control, effect, method, n, p, mcse],
            strict=True,
        )
    )


def _design_row(
    e: str,
    model: str,
    prior: str,
    control: float,
    label: str,
    method: str,
    w: np.ndarray,
    ni: np.ndarray,
    declare: np.ndarray,
) -> dict:
    values = [
        e,
        model,
        prior,
        control,
        label,
        method,
        float((w * _correct(ni, declare)).sum()),
        float((w * declare).sum()),
        float((w * declare * ~ni).sum()),
    ]
    return dict(zip(DESIGN_COLUMNS, values, strict=True))


def loghr_oc(
    spec: TrialSpec,
    plan: Plan,
    endpoints: list[str],
    rules: dict[str, EndpointRules],
    audit: AuditResult | None = None,
) -> tuple[list[dict], list[dict]]:
    """Exact OCs of the summary-level log-HR model (SE from the published CI), and of its
    inverted reading for the endpoints the fit fits it for (the same design: an estimate
    with the same SE, read in the other direction; the effect is the true HR under that
    reading)."""
    flagged = set(inverted_endpoints(plan, audit, endpoints)) if audit is not None else set()
    settings = plan.operating_characteristics
    priors = loghr_priors(plan, with_baseline=False)
    dp = settings.design_prior
    rows, design = [], []
    for e in endpoints:
        s = spec.survival[e]
        se = se_from_ci(*s.ci, s.ci_level)
        margin = rules[e].ni.margin
        hrs = _grid(settings.survival.hr, margin, 1.0)
        control = s.median_months[spec.trial.control]
        x = np.linspace(dp.log_hr_mean - 6 * dp.log_hr_sd, dp.log_hr_mean + 6 * dp.log_hr_sd, 2001)
        w = stats.norm.pdf(x, dp.log_hr_mean, dp.log_hr_sd)
        w /= w.sum()
        models = [MODEL, READINGS["inverted"]] if e in flagged else [MODEL]
        for (p, prior), model in itertools.product(priors.items(), models):
            got = p_declare_hr(prior, se, margin, plan.decision_threshold, np.array(hrs))
            for hr, pd_ in zip(hrs, got, strict=True):
                rows.append(
                    _row(
                        e,
                        model,
                        p,
                        f"hr={hr:.4g}",
                        control,
                        hr,
                        "exact",
                        np.nan,
                        float(pd_),
                        0.0,
                    )
                )
            declare = p_declare_hr(prior, se, margin, plan.decision_threshold, np.exp(x))
            design.append(
                _design_row(
                    e,
                    model,
                    p,
                    control,
                    f"log_hr~N({dp.log_hr_mean:g},{dp.log_hr_sd:g})",
                    "exact",
                    w,
                    x < math.log(margin),
                    declare,
                )
            )
    return rows, design


def survival_scenarios(
    spec: TrialSpec,
    plan: Plan,
    endpoints: list[str],
    rules: dict[str, EndpointRules],
    historical: HistoricalPriors | None = None,
) -> list[tuple[str, SurvivalTruth, PWESimModel, tuple[float, ...], float]]:
    """(endpoint, truth, model, cuts, margin HR) of every simulated survival scenario; true
    control medians: the plan's, else the published one times each `control_median_ratio`."""
    conduct = plan.operating_characteristics.survival
    out = []
    for variant in conduct.pwe_models:  # in the listed order (scenario numbers follow it)
        for e in endpoints:
            s = spec.survival[e]
            n_t, n_c = _arm_sizes(spec, e)
            published = s.median_months[spec.trial.control]
            cuts = tuple(
                float(c)
                for c in (
                    plan.pwe.cuts
                    if plan.pwe.cuts
                    else design_cuts(
                        published, n_t + n_c, plan.pwe.events_per_interval, plan.pwe.max_intervals
                    )
                )
            )
            model = pwe_sim_model(plan, e, variant, len(cuts) + 1, historical)
            margin = rules[e].ni.margin
            ratios = sorted(conduct.control_median_ratio, key=lambda r: abs(math.log(r)))
            for median in conduct.control_median_months or [published * r for r in ratios]:
                for hr in _grid(conduct.hr, margin, 1.0):
                    out.append((e, SurvivalTruth(median, hr, None, n_t, n_c), model, cuts, margin))
                for hr in conduct.hr if conduct.late_hr else []:
                    for late in conduct.late_hr:
                        out.append(
                            (e, SurvivalTruth(median, hr, late, n_t, n_c), model, cuts, margin)
                        )
    return out


def pwe_oc(
    scenarios: list[tuple[str, SurvivalTruth, PWESimModel, tuple[float, ...], float]],
    plan: Plan,
    results: dict[str, np.ndarray],
    tasks: list,
) -> tuple[list[dict], list[dict]]:
    """Simulated OCs of the PWE models from the chunk results (in scenario, chunk order)."""
    threshold = plan.decision_threshold
    rows, design = [], []
    dp = plan.operating_characteristics.design_prior
    per_scenario: dict[int, list[np.ndarray]] = {}
    for t in sorted(tasks, key=lambda t: (t.scenario, t.chunk)):
        per_scenario.setdefault(t.scenario, []).append(results[t.key])
    curves: dict[tuple[str, str, str, float], list[tuple[float, float]]] = {}
    for s, (e, truth, model, _, _) in enumerate(scenarios):
        probs = np.concatenate(per_scenario[s])
        late = "" if truth.late_hr is None else f" late_hr={truth.late_hr:.4g}"
        for j, p in enumerate(model.names):
            dec = probs[:, j] >= threshold
            n = len(dec)
            pd_ = float(dec.mean())
            rows.append(
                _row(
                    e,
                    model.model_name,
                    p,
                    f"median={truth.control_median:.4g} hr={truth.hr:.4g}{late}",
                    truth.control_median,
                    truth.hr,
                    "simulation",
                    n,
                    pd_,
                    math.sqrt(pd_ * (1 - pd_) / n),
                )
            )
            if truth.late_hr is None:
                key = (e, model.model_name, p, truth.control_median)
                curves.setdefault(key, []).append((truth.hr, pd_))
    for (e, name, p, median), pts in curves.items():
        x = np.log([h for h, _ in pts])
        declare = np.array([v for _, v in pts])
        w = (
            stats.norm.pdf(x, dp.log_hr_mean, dp.log_hr_sd) * np.gradient(x)
            if len(x) > 1
            else np.ones(1)
        )
        w = w / w.sum()
        margin = next(m for (ee, *_, m) in scenarios if ee == e)
        design.append(
            _design_row(
                e,
                name,
                p,
                median,
                f"log_hr~N({dp.log_hr_mean:g},{dp.log_hr_sd:g}) on the HR grid",
                "simulation",
                w,
                x < math.log(margin),
                declare,
            )
        )
    return rows, design


def run_oc(
    spec: TrialSpec,
    plan: Plan,
    checkpoint_dir: Path,
    *,
    sims: int | None = None,
    seed: int | None = None,
    workers: int = 2,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Callable[[str], None] = lambda _: None,
    chunk_progress: Progress | None = None,
) -> OCResult:
    """Every OC of the plan on the trial's design; simulated chunks checkpointed in
    `checkpoint_dir` (removed once the run is complete)."""
    settings: OCSettings = plan.operating_characteristics
    sims = sims or settings.sims
    seed = settings.seed if seed is None else seed
    endpoints = plan.select_endpoints([*spec.survival, *spec.binary])
    kinds = {e: spec.kind(e) for e in endpoints}
    rules = endpoint_rules(plan, kinds)
    surv = [e for e in endpoints if kinds[e] == "survival"]
    binary = [e for e in endpoints if kinds[e] != "survival"]
    historical, notes = oc_historical(spec, plan, kinds, progress)
    calibration = None
    audit = audit_trial(spec, endpoints)
    rows, design = [], []
    progress("binary endpoints: exact enumeration of all outcomes")
    r, d = binary_oc(spec, plan, binary, rules, historical)
    rows += r
    design += d
    progress("summary-level log-HR model: normal closed form")
    r, d = loghr_oc(spec, plan, surv, rules, audit)
    rows += r
    design += d
    if surv:
        scenarios = survival_scenarios(spec, plan, surv, rules, historical)
        tasks = chunk_tasks([s[1:] for s in scenarios], settings.survival, sims, seed)
        progress(
            f"PWE models: {len(scenarios)} scenarios x {sims} simulated trials "
            f"in {len(tasks)} chunks"
        )
        cal_tasks = calibration_tasks(
            scenarios, tasks, settings.calibration_sims, settings.calibration_sets
        )
        if cal_tasks:
            progress(
                f"reconstruction calibration: {settings.calibration_sims} trials per scenario at "
                f"HR 1 and the margin, {settings.calibration_sets} reconstructed sets each"
            )
        everything = [*tasks, *cal_tasks]
        cp = Checkpoint(checkpoint_dir, everything, resume)
        results = run_tasks(everything, cp, workers, scheduler, chunk_progress, fn=run_task)
        r, d = pwe_oc(scenarios, plan, results, tasks)
        calibration = calibration_table(scenarios, cal_tasks, results) if cal_tasks else None
        rows += r
        design += d
        notes += historical_notes(plan, surv, historical)
    table = pd.DataFrame(rows, columns=OC_COLUMNS)
    table["n_trials"] = table["n_trials"].astype("Int64")
    return OCResult(
        table,
        pd.DataFrame(design, columns=DESIGN_COLUMNS),
        {e: rules[e].ni.margin for e in endpoints},
        plan.decision_threshold,
        notes,
        calibration,
    )
