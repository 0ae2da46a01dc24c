"""Decision rules as small composable values (after RBesT's decision2S).

A `Rule` says which posterior quantity is compared with which margin, and in which direction;
`probability` applies it to a fit's draws. Rules are built from the plan per endpoint kind:
  survival: NI if HR < margin_hr            better: HR < 1
  efficacy: NI if rate_diff > margin (<= 0)  better: rate_diff > 0
  harm:     NI if rate_diff < margin (>= 0)  better: rate_diff < 0
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from bayes_btc.plan import Plan
from bayes_btc.posterior import Fit
from bayes_btc.study import Study

Kind = Literal["survival", "efficacy", "harm"]
NI_COLUMNS = ["endpoint", "model", "prior", "estimand", "margin", "direction", "probability"]
NI, CURVE, BETTER = "noninferiority", "noninferiority_curve", "treatment_better"
NI_RMST, BETTER_RMST = "noninferiority_rmst", "treatment_better_rmst"


@dataclass(frozen=True)
class Rule:
    """P(quantity `direction` margin) with direction '<' or '>'."""

    quantity: str
    direction: Literal["<", ">"]
    margin: float
    estimand: str = NI

    @property
    def text(self) -> str:
        return f"{self.quantity} {self.direction} margin"

    def at(self, margin: float, estimand: str | None = None) -> Rule:
        return replace(self, margin=float(margin), estimand=estimand or self.estimand)


def ni_rule(kind: Kind, plan: Plan) -> Rule:
    """The plan's non-inferiority rule for an endpoint kind."""
    m = plan.margins
    return {
        "survival": Rule("hr", "<", m.hr),
        "efficacy": Rule("rate_diff", ">", m.efficacy_rate_diff),
        "harm": Rule("rate_diff", "<", m.harm_rate_diff),
    }[kind]


def better_rule(kind: Kind) -> Rule:
    """Treatment better than control: HR < 1, more responses, fewer adverse events."""
    return {
        "survival": Rule("hr", "<", 1.0, BETTER),
        "efficacy": Rule("rate_diff", ">", 0.0, BETTER),
        "harm": Rule("rate_diff", "<", 0.0, BETTER),
    }[kind]


def grid(kind: Kind, plan: Plan) -> np.ndarray:
    g = plan.margin_grid
    return {"survival": g.hr, "efficacy": g.efficacy_rate_diff, "harm": g.harm_rate_diff}[
        kind
    ].values()


def indicator(fit: Fit, rule: Rule) -> np.ndarray:
    """Per-draw 0/1 of the rule, shape (chain, draw)."""
    x = np.asarray(fit.draws[rule.quantity].values)
    return (x < rule.margin) if rule.direction == "<" else (x > rule.margin)


def probability(fit: Fit, rule: Rule) -> float:
    """Posterior probability of the rule, from the fit's draws."""
    return float(indicator(fit, rule).mean())


def rmst_rules(plan: Plan) -> list[Rule]:
    """RMST difference (months, treatment - control): NI above the margin; better above 0."""
    return [
        Rule("rmst_diff", ">", plan.pwe.rmst_margin_months, NI_RMST),
        Rule("rmst_diff", ">", 0.0, BETTER_RMST),
    ]


def primary_rules(fit: Fit, kind: Kind, plan: Plan) -> list[Rule]:
    """The decision rules of a fit at the plan's margins: NI (HR or rate) and RMST if any."""
    rules = [ni_rule(kind, plan)]
    if "rmst_diff" in fit.draws:
        rules.append(rmst_rules(plan)[0])
    return rules


def rules_for(fit: Fit, kind: Kind, plan: Plan) -> list[Rule]:
    """All rules reported for one fit: plan margin, margin curve, treatment better, RMST."""
    ni = ni_rule(kind, plan)
    rules = [ni, *(ni.at(m, CURVE) for m in grid(kind, plan)), better_rule(kind)]
    if "rmst_diff" in fit.draws:
        rules += rmst_rules(plan)
    return rules


def noninferiority_table(fits: list[Fit], kinds: dict[str, Kind], plan: Plan) -> pd.DataFrame:
    """The contract's noninferiority.csv."""
    rows = [
        {
            "endpoint": f.endpoint,
            "model": f.model,
            "prior": f.prior,
            "estimand": r.estimand,
            "margin": r.margin,
            "direction": r.text,
            "probability": probability(f, r),
        }
        for f in fits
        for r in rules_for(f, kinds[f.endpoint], plan)
    ]
    return pd.DataFrame(rows, columns=NI_COLUMNS)


def decide(probability: float, threshold: float) -> bool:
    """Non-inferiority is declared when the posterior probability reaches the threshold."""
    return probability >= threshold


def describe(
    endpoint: str,
    label: str,
    model: str,
    prior: str,
    rule: Rule,
    p: float,
    threshold: float,
    treatment: str,
    control: str,
    *,
    mcse: float | None = None,
    exact: float | None = None,
) -> str:
    """One sentence stating the decision in plain words.

    The decision uses the exact posterior probability when the model has one (MCMC estimates
    it) and otherwise the MCMC value, flagged as borderline when within 2 MCSE of the threshold.
    """
    target = {
        "hr": f"the hazard ratio {treatment} vs {control} is below {rule.margin:g}",
        "rmst_diff": f"the RMST difference {treatment} - {control} is above {rule.margin:g} months",
        "rate_diff": (
            f"{treatment}'s rate is at most {abs(rule.margin) * 100:g} points below {control}'s"
            if rule.direction == ">"
            else f"{treatment}'s rate is at most {rule.margin * 100:g} points above {control}'s"
        ),
    }[rule.quantity]
    basis = p if exact is None else exact
    verdict = (
        f"non-inferiority IS shown (P >= {threshold:g})"
        if decide(basis, threshold)
        else f"non-inferiority is NOT shown (P < {threshold:g})"
    )
    value = f"{p:.3f}" if exact is None else f"{exact:.4f} (exact; MCMC {p:.4f})"
    caveat = ""
    if exact is None and mcse is not None and abs(p - threshold) < 2 * mcse:
        caveat = " Borderline: within 2 Monte Carlo SEs of the threshold."
    return (
        f"{endpoint} ({label}), {model}, {prior} prior: the posterior probability that "
        f"{target} is {value}; {verdict}.{caveat}"
    )


def decision_table(
    fits: list[Fit], exact: pd.DataFrame, kinds: dict[str, Kind], plan: Plan, study: Study
) -> pd.DataFrame:
    """Every fit's decision at the plan's margins, with the exact value where there is one."""
    from bayes_btc.diagnostics import probability_mcse

    ex = exact.set_index(["endpoint", "model", "prior", "estimand"])
    rows = []
    for f in fits:
        for rule in primary_rules(f, kinds[f.endpoint], plan):
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
                    "non_inferior": decide(basis, plan.decision_threshold),
                    "statement": describe(
                        f.endpoint,
                        study.label(f.endpoint),
                        f.model,
                        f.prior,
                        rule,
                        p,
                        plan.decision_threshold,
                        study.treatment,
                        study.control,
                        mcse=mcse,
                        exact=p_exact,
                    ),
                }
            )
    return pd.DataFrame(rows)
