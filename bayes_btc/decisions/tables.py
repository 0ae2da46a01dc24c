"""The decision tables: P(NI) for every fit and rule (noninferiority.csv), and every fit's
decision at the plan's margins with its Monte Carlo error and exact value (decisions.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_btc.decisions.rules import EndpointRules, decide, probability
from bayes_btc.decisions.wording import describe
from bayes_btc.inference.exact_check import probability_mcse, rules_probability_mcse
from bayes_btc.inputs.plan import Plan
from bayes_btc.inputs.study import Study
from bayes_btc.models.fit import Fit
from bayes_btc.priors.map_prior import HistoricalPriors
from bayes_btc.threads import threaded_map

NI_COLUMNS = [
    "endpoint",
    "model",
    "prior",
    "estimand",
    "margin",
    "direction",
    "probability",
    "mcse",
]


def noninferiority_table(fits: list[Fit], rules: dict[str, EndpointRules]) -> pd.DataFrame:
    """The contract's noninferiority.csv, with the Monte Carlo SE of every probability."""
    rows = []
    reported = [rules[f.endpoint].reported(f) for f in fits]
    # each fit on its own (numpy and the ESS kernel release the GIL): same numbers
    results = threaded_map(lambda fr: rules_probability_mcse(*fr), zip(fits, reported, strict=True))
    for f, rs, (p, mcse) in zip(fits, reported, results, strict=True):
        rows += [
            {
                "endpoint": f.endpoint,
                "model": f.model,
                "prior": f.prior,
                "estimand": r.estimand,
                "margin": r.margin,
                "direction": r.text,
                "probability": float(pr),
                "mcse": float(se),
            }
            for r, pr, se in zip(rs, p, mcse, strict=True)
        ]
    return pd.DataFrame(rows, columns=NI_COLUMNS)


def decision_table(
    fits: list[Fit],
    exact: pd.DataFrame,
    rules: dict[str, EndpointRules],
    threshold: float,
    study: Study,
) -> pd.DataFrame:
    """Every fit's decision at the plan's margins, with the exact value where there is one."""
    ex = exact.set_index(["endpoint", "model", "prior", "estimand"])
    rows = []
    for f in fits:
        for rule in rules[f.endpoint].primary(f):
            key = (f.endpoint, f.model, f.prior, rule.estimand)
            if key in ex.index:  # conjugate: the exact check already has MCMC value and MCSE
                row = ex.loc[key]
                p_exact = float(row["probability_exact"])
                p, mcse = float(row["probability_mcmc"]), float(row["mcse"])
            else:
                p_exact = None
                p, mcse = probability_mcse(f, rule, probability(f, rule))
            basis = p if p_exact is None else p_exact
            rows.append(
                {
                    "endpoint": f.endpoint,
                    "model": f.model,
                    "prior": f.prior,
                    "estimand": rule.estimand,
                    "margin": rule.margin,
                    "probability_mcmc": p,
                    "mcse": mcse,
                    "probability_exact": p_exact if p_exact is not None else np.nan,
                    "non_inferior": decide(basis, threshold),
                    "claim": rule.claim,
                    "statement": describe(
                        f.endpoint,
                        study.label(f.endpoint),
                        f.model,
                        f.prior,
                        rule,
                        p,
                        threshold,
                        study.treatment,
                        study.control,
                        mcse=mcse,
                        exact=p_exact,
                        draws=f.draws_from,
                    ),
                }
            )
    return pd.DataFrame(rows)


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
        key = (r["endpoint"], refs.get(r["prior"]) or "")
        if key in table.index:
            ess, unit = table.loc[key, "ess"], table.loc[key, "ess_unit"]
            out.loc[i, "prior_ess"] = ess
            out.loc[i, "statement"] += (
                f" The {control} prior ({key[1].replace('_', ' ')} MAP) is worth about "
                f"{ess:.0f} {unit} (ESS)."
            )
    return out
