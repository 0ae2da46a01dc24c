"""Decision rules as small values, built once from the plan (after RBesT's decision2S).

A `Rule` says which posterior quantity is compared with which margin, and in which direction;
`probability` applies it to a fit's draws. `endpoint_rules` builds every endpoint's rules once
from the plan and the endpoint kinds:
  survival: NI if HR < margin_hr            better: HR < 1
  efficacy: NI if rate_diff > margin (<= 0)  better: rate_diff > 0
  harm:     NI if rate_diff < margin (>= 0)  better: rate_diff < 0
plus, for fits with an RMST difference (months), NI if rmst_diff > the RMST margin. The margin
is the endpoint's own (`margins.per_endpoint`) or its kind's; one on the treatment's side of no
difference (HR <= 1, efficacy >= 0, harm <= 0) makes the rule a superiority rule
(`claim = "superior"`, by a clinically relevant difference when beyond no difference). The
estimand keeps its contract name `noninferiority` ("the plan's margin rule").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from bayes_btc.errors import InputError
from bayes_btc.inputs.plan import Plan
from bayes_btc.inputs.trial import EndpointKind
from bayes_btc.models.fit import Fit

NI, CURVE, BETTER = "noninferiority", "noninferiority_curve", "treatment_better"
NI_RMST, BETTER_RMST = "noninferiority_rmst", "treatment_better_rmst"
_QUANTITY = {"survival": "hr", "efficacy": "rate_diff", "harm": "rate_diff"}
_DIRECTION: dict[str, Literal["<", ">"]] = {"survival": "<", "efficacy": ">", "harm": "<"}
_NO_DIFFERENCE = {"survival": 1.0, "efficacy": 0.0, "harm": 0.0}


@dataclass(frozen=True)
class Rule:
    """P(quantity `direction` margin) with direction '<' or '>'."""

    quantity: str
    direction: Literal["<", ">"]
    margin: float
    estimand: str = NI
    claim: str = "non-inferior"  # what reaching the threshold shows: or "superior"

    @property
    def text(self) -> str:
        return f"{self.quantity} {self.direction} margin"

    def at(self, margin: float, estimand: str | None = None) -> Rule:
        return replace(self, margin=float(margin), estimand=estimand or self.estimand)


@dataclass(frozen=True)
class EndpointRules:
    """Every rule one endpoint is judged by, at the plan's margins and over its margin grid."""

    kind: EndpointKind
    ni: Rule
    better: Rule
    curve: tuple[Rule, ...]
    rmst: tuple[Rule, Rule]  # NI and better on the RMST difference (months), PWE fits only

    def primary(self, fit: Fit) -> list[Rule]:
        """The rules decided at the plan's margins: NI, and RMST NI where the fit has it."""
        return [self.ni, *([self.rmst[0]] if "rmst_diff" in fit.draws else [])]

    def reported(self, fit: Fit) -> list[Rule]:
        """All rules reported for one fit: margin, margin curve, better, RMST."""
        rmst = list(self.rmst) if "rmst_diff" in fit.draws else []
        return [self.ni, *self.curve, self.better, *rmst]


def endpoint_rules(plan: Plan, kinds: dict[str, EndpointKind]) -> dict[str, EndpointRules]:
    """The rules of every endpoint, resolved once from the plan."""
    rmst = (
        Rule("rmst_diff", ">", plan.pwe.rmst_margin_months, NI_RMST),
        Rule("rmst_diff", ">", 0.0, BETTER_RMST),
    )
    unknown = [e for e in plan.margins.per_endpoint if e not in kinds]
    if unknown:
        raise InputError(
            f"plan margins.per_endpoint names {unknown}, not among the analysed endpoints "
            f"{list(kinds)}"
        )
    out = {}
    for endpoint, kind in kinds.items():
        margin = plan.margins.of(kind, endpoint)
        claim = plan.margins.claim(kind, margin)
        ni = Rule(_QUANTITY[kind], _DIRECTION[kind], margin, claim=claim)
        out[endpoint] = EndpointRules(
            kind=kind,
            ni=ni,
            better=Rule(_QUANTITY[kind], _DIRECTION[kind], _NO_DIFFERENCE[kind], BETTER),
            curve=tuple(ni.at(m, CURVE) for m in plan.margin_grid.of(kind)),
            rmst=rmst,
        )
    return out


def indicator(fit: Fit, rule: Rule) -> np.ndarray:
    """Per-draw 0/1 of the rule, shape (chain, draw)."""
    x = np.asarray(fit.draws[rule.quantity].values)
    return (x < rule.margin) if rule.direction == "<" else (x > rule.margin)


def probability(fit: Fit, rule: Rule) -> float:
    """Posterior probability of the rule, from the fit's draws."""
    return float(indicator(fit, rule).mean())


def decide(probability: float, threshold: float) -> bool:
    """Non-inferiority is declared when the posterior probability reaches the threshold."""
    return probability >= threshold
