"""The priors an OC run evaluates, resolved as `bayes-btc fit` resolves them.

Historical (MAP) priors are derived as the fit derives them: the analysed trial left out of its
own prior, borrowed only for the control arm's regimen and the endpoints the data file declares
(`priors/borrowing.py`). A PWE model of an OC run carries every named log-HR prior that applies
to the endpoint, each with its MAP mixture on the control arm's log median where it asks for one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bayes_btc.analysis.run import borrowing_for
from bayes_btc.inputs.historical import load_historical
from bayes_btc.inputs.plan import Plan
from bayes_btc.inputs.study import Study
from bayes_btc.inputs.trial import EndpointKind, TrialSpec
from bayes_btc.priors.borrowing import without_analysed_trial
from bayes_btc.priors.map_prior import HistoricalPriors, derive_map_priors
from bayes_btc.priors.named import control_median_priors, loghr_prior_applies, loghr_priors
from bayes_btc.simulation.pwe_sim import PWESimModel


def oc_historical(
    spec: TrialSpec,
    plan: Plan,
    kinds: dict[str, EndpointKind],
    progress: Callable[[str], None],
) -> tuple[HistoricalPriors | None, list[str]]:
    """MAP priors for the analysed endpoints (None if the plan borrows nothing) and what the
    borrowing left out, in sentences."""
    if not plan.uses_historical:
        return None, []
    data, _ = load_historical(plan.historical.data)
    data, own_trial = without_analysed_trial(data, spec.trial.id)
    borrowed = borrowing_for(data, plan, spec, Study.from_trial(spec), kinds)
    if not borrowed.endpoints:
        return None, borrowed.notes
    historical = derive_map_priors(
        data, borrowed.endpoints, plan.historical, plan.sampler, progress
    )
    return historical, [*own_trial, *borrowed.notes]


def pwe_sim_model(
    plan: Plan,
    endpoint: str,
    variant: str,
    n_intervals: int,
    historical: HistoricalPriors | None,
) -> PWESimModel:
    """The simulated PWE model of one endpoint: the log-HR priors that apply to it (those
    with a historical control median only where the endpoint has a MAP prior)."""
    priors = loghr_priors(plan, with_baseline=True)
    names = [p for p in priors if loghr_prior_applies(plan, endpoint, p, historical)]
    medians = control_median_priors(plan, [endpoint], historical)
    s = plan.pwe
    return PWESimModel(
        tuple((p, priors[p]) for p in names),
        n_intervals,
        s.baseline_log_hazard_mean,
        s.baseline_log_hazard_sd,
        s.smoothing_sd,
        variant,
        s.hr_smoothing_sd,
        tuple(medians[(endpoint, p)] for p in names),
    )


def historical_notes(
    plan: Plan, endpoints: list[str], historical: HistoricalPriors | None
) -> list[str]:
    """One sentence per survival endpoint on its historical (control-median) priors: the MAP
    prior's median and 95% interval (months) the simulated true control medians meet, or why
    the endpoint has no such rows."""
    named = [k for k, v in plan.priors.log_hr.items() if v.control_median is not None]
    if not named:
        return []
    out = []
    for e in endpoints:
        if historical is None or e not in historical.priors:
            out.append(
                f"{e}: no historical data borrowed, so the priors {', '.join(named)} "
                "(historical control median) give no rows for it (as in the fit)."
            )
            continue
        mix = historical.priors[e].map
        lo, mid, hi = (math.exp(float(mix.quantile(q))) for q in (0.025, 0.5, 0.975))
        out.append(
            f"{e}: the MAP prior puts the control median at {mid:.3g} months (95% interval "
            f"{lo:.3g}-{hi:.3g}); PWE rows of {', '.join(named)} whose true control median "
            "(`control_value`) differs from it show the prior-data conflict (type I error "
            "inflated or power lost by borrowing; compare historical_robust, whose vague "
            "component is meant to limit it)."
        )
    return out
