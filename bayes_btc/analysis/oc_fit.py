"""The exact operating characteristics a fit can afford (oc_exact.csv): for every conjugate
cell the run fitted, how often the plan's decision rule declares its claim on the trial's own
design when the truth sits at the margin (type I error) and at no difference.

Binary endpoints: every outcome of both arms enumerated with the exact Beta-mixture posteriors
(`simulation/binary_exact.py`), with the arm sizes and the control arm's observed rate of the
fit. Summary-level log-HR model: the normal closed form with the fit's SE (log-HR scale)
(`simulation/loghr_exact.py`). The priors are those of the fitted cells, historical (MAP)
ones included, so nothing is refitted. The PWE models' OCs need simulated trials and are left
to `bayes-btc oc`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bayes_btc.decisions.rules import EndpointRules, Rule
from bayes_btc.models.beta_binomial import MODEL as BINARY_MODEL
from bayes_btc.models.fit import Fit
from bayes_btc.models.loghr_summary import MODEL as LOGHR_MODEL
from bayes_btc.simulation.binary_exact import BinaryDesign, decision_matrix, p_declare
from bayes_btc.simulation.loghr_exact import critical_estimate, p_declare_hr

ENUMERATION = "exact: all outcomes enumerated"
CLOSED_FORM = "exact: normal closed form"
OC_EXACT_COLUMNS = [
    "endpoint",
    "model",
    "prior",
    "claim",
    "direction",
    "margin",  # HR or rate difference (treatment - control)
    "no_difference",  # HR 1 or rate difference 0
    "threshold",
    "n_treatment",  # binary: patients per arm of the fit
    "n_control",
    "control_rate",  # binary: the control arm's observed rate, taken as the true one
    "se_log_hr",  # summary log-HR model: SE of the estimate (log-HR scale)
    "critical_hr",  # summary log-HR model: declared when the estimated HR is at most this
    "type1_error",  # P(declare) when the truth is at the margin
    "p_declare_no_difference",  # P(declare) at no difference: power for a NI claim
    "method",
]


def binary_row(
    fit: Fit, rule: Rule, threshold: float, done: dict[BinaryDesign, np.ndarray] | None = None
) -> dict:
    """The OC row of one beta-binomial cell (arm index 0 treatment, 1 control); `done` keeps
    the decision matrices of designs already enumerated (endpoints sharing arm sizes, priors
    and rule share one)."""
    n_t, n_c = int(fit.inputs["n_0"]), int(fit.inputs["n_1"])
    prior_t, prior_c = fit.priors.values()  # in arm order, as n_0 and n_1
    design = BinaryDesign(n_t, n_c, prior_t, prior_c, rule.direction, rule.margin, threshold)
    done = {} if done is None else done
    if design not in done:
        done[design] = decision_matrix(design)
    declares = done[design]
    p_c = fit.inputs["events_1"] / n_c
    p_t = p_c + rule.margin
    at_margin = float(p_declare(declares, p_t, p_c)[0]) if 0.0 <= p_t <= 1.0 else math.nan
    return {
        "n_treatment": n_t,
        "n_control": n_c,
        "control_rate": p_c,
        "no_difference": 0.0,
        "type1_error": at_margin,
        "p_declare_no_difference": float(p_declare(declares, p_c, p_c)[0]),
        "method": ENUMERATION,
    }


def loghr_row(fit: Fit, rule: Rule, threshold: float) -> dict:
    """The OC row of one summary-level log-HR cell (rule P(HR < margin) >= threshold)."""
    if rule.direction != "<":
        raise ValueError(f"{fit.endpoint}: a survival rule is P(HR < margin), got {rule.text}")
    prior, se = fit.priors["log_hr"], fit.inputs["se"]
    at = p_declare_hr(prior, se, rule.margin, threshold, np.array([rule.margin, 1.0]))
    return {
        "no_difference": 1.0,
        "se_log_hr": se,
        "critical_hr": math.exp(critical_estimate(prior, se, rule.margin, threshold)),
        "type1_error": float(at[0]),
        "p_declare_no_difference": float(at[1]),
        "method": CLOSED_FORM,
    }


def exact_oc(fits: list[Fit], rules: dict[str, EndpointRules], threshold: float) -> pd.DataFrame:
    """oc_exact.csv: one row per conjugate endpoint x model x prior the run fitted (the
    summary-level model's inverted reading shares its design and is not repeated)."""
    rows = []
    done: dict[BinaryDesign, np.ndarray] = {}
    for f in fits:
        if f.dataset is not None or f.model not in (BINARY_MODEL, LOGHR_MODEL):
            continue
        rule = rules[f.endpoint].ni
        row = (
            binary_row(f, rule, threshold, done)
            if f.model == BINARY_MODEL
            else loghr_row(f, rule, threshold)
        )
        rows.append(
            {
                "endpoint": f.endpoint,
                "model": f.model,
                "prior": f.prior,
                "claim": rule.claim,
                "direction": rule.direction,
                "margin": rule.margin,
                "threshold": threshold,
            }
            | row
        )
    out = pd.DataFrame(rows, columns=OC_EXACT_COLUMNS)
    for c in ("n_treatment", "n_control"):
        out[c] = out[c].astype("Int64")
    return out
