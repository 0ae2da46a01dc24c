"""Every prior a run used, per endpoint and arm, with its effective sample size by ELIR,
moment and Morita (priors.csv).

Rows: a log-HR prior (arm "<treatment> vs <control>", ESS in events: one event's information
on the log-HR has SD 2); a rate prior per arm (ESS in patients); the historical prior on the
control arm's log median in the PWE models (ESS in events, SD 1 per event). Only the cells a
fit actually used are listed.
"""

from __future__ import annotations

import pandas as pd

from bayes_btc.inputs.plan import Plan
from bayes_btc.models.fit import Fit
from bayes_btc.priors.ess import LOG_HR_UNIT_SD, LOG_MEDIAN_UNIT_SD, ess_all
from bayes_btc.priors.map_prior import HistoricalPriors
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture
from bayes_btc.priors.named import control_median_priors, rate_priors

COLUMNS = [
    "endpoint",
    "arm",
    "prior",
    "scale",
    "mixture",
    "ess_elir",
    "ess_moment",
    "ess_morita",
    "ess_unit",
]


def _row(
    endpoint: str, arm: str, prior: str, scale: str, mix: BetaMixture | NormalMixture, sd: float
) -> dict[str, object]:
    ess = ess_all(mix, None if isinstance(mix, BetaMixture) else sd)
    return {
        "endpoint": endpoint,
        "arm": arm,
        "prior": prior,
        "scale": scale,
        "mixture": mix.describe(4),
        "ess_elir": ess["elir"],
        "ess_moment": ess["moment"],
        "ess_morita": ess["morita"],
        "ess_unit": "patients" if isinstance(mix, BetaMixture) else "events",
    }


def priors_table(
    plan: Plan, fits: list[Fit], arms: tuple[str, str], historical: HistoricalPriors | None
) -> pd.DataFrame:
    """priors.csv: one row per endpoint x arm x prior x scale the fits used."""
    treatment, control = arms
    rows: dict[tuple[str, str, str, str], dict[str, object]] = {}
    for f in fits:
        e, p = f.endpoint, f.prior
        if f.model == "beta_binomial":
            cells = rate_priors(plan, [e], historical).cells
            for i, arm in enumerate(arms):
                mix = cells.get((e, i, p))
                if mix is not None:
                    rows[(e, arm, p, "rate")] = _row(e, arm, p, "rate", mix, 1.0)
            continue
        if p not in plan.priors.log_hr:
            continue
        hr = plan.priors.log_hr[p].mixture
        rows[(e, "both", p, "log-HR")] = _row(
            e, f"{treatment} vs {control}", p, "log-HR", hr, LOG_HR_UNIT_SD
        )
        if f.model.startswith("pwe"):
            median = control_median_priors(plan, [e], historical).get((e, p))
            if median is not None:
                scale = "log median (months)"
                rows[(e, control, p, scale)] = _row(
                    e, control, p, scale, median, LOG_MEDIAN_UNIT_SD
                )
    return pd.DataFrame(list(rows.values()), columns=COLUMNS)
