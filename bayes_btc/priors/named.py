"""The plan's named priors, resolved per model family and endpoint.

Log-HR priors are the same for every endpoint. A log-HR prior with `control_median` also
carries the historical MAP prior on the control arm's median, which only the PWE models (with
a baseline hazard) can use; the summary-level log-HR model has no baseline, so such priors are
left out of it. A rate prior whose control arm is historical applies to the endpoints with
historical data only. A prior that does not apply to an endpoint gives no fit for it.
"""

from __future__ import annotations

from bayes_btc.inputs.plan import Plan
from bayes_btc.models.beta_binomial import RatePriors
from bayes_btc.priors.map_prior import HistoricalPriors
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture


def loghr_priors(plan: Plan, *, with_baseline: bool) -> dict[str, NormalMixture]:
    """Named log-HR priors; without a baseline hazard, those about the control median drop."""
    return {
        k: v.mixture
        for k, v in plan.priors.log_hr.items()
        if with_baseline or v.control_median is None
    }


def control_median_priors(
    plan: Plan, endpoints: list[str], historical: HistoricalPriors | None
) -> dict[tuple[str, str], NormalMixture | None]:
    """(endpoint, prior) -> MAP prior on the control arm's log median (months), where a prior
    asks for one and the endpoint has historical data."""
    out: dict[tuple[str, str], NormalMixture | None] = {}
    for name, p in plan.priors.log_hr.items():
        for e in endpoints:
            mix = None
            if p.control_median is not None and historical and e in historical.priors:
                got = historical.priors[e].get(p.control_median)
                assert isinstance(got, NormalMixture)
                mix = got
            out[(e, name)] = mix
    return out


def loghr_prior_applies(
    plan: Plan, endpoint: str, prior: str, historical: HistoricalPriors | None
) -> bool:
    """Whether a named log-HR prior gives a fit for `endpoint` in the PWE models."""
    p = plan.priors.log_hr[prior]
    return p.control_median is None or bool(historical and endpoint in historical.priors)


def rate_priors(
    plan: Plan, endpoints: list[str], historical: HistoricalPriors | None
) -> RatePriors:
    """(endpoint, arm, prior) -> Beta mixture, or None where the prior does not apply."""
    cells: dict[tuple[str, int, str], BetaMixture | None] = {}
    names = []
    for name, p in plan.priors.rate.items():
        treatment, control = p.arm_priors()
        applies_somewhere = False
        for e in endpoints:
            c: BetaMixture | None
            if isinstance(control, str):
                got = (
                    historical.priors[e].get(control)
                    if historical and e in historical.priors
                    else None
                )
                c = got if isinstance(got, BetaMixture) else None
            else:
                c = control
            cells[(e, 0, name)] = treatment if c is not None else None
            cells[(e, 1, name)] = c
            applies_somewhere |= c is not None
        if applies_somewhere:
            names.append(name)
    return RatePriors(names, {k: v for k, v in cells.items() if k[2] in names})
