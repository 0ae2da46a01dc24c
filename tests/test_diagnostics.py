"""A bad fit is never reported as clean."""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayes_btc.decisions.rules import endpoint_rules
from bayes_btc.inference.diagnostics import diagnostics_table
from bayes_btc.inference.exact_check import exact_check, probability_mcse
from bayes_btc.inference.summary import summary_table
from bayes_btc.models import loghr_summary
from bayes_btc.models.fit import Fit
from bayes_btc.priors.mixtures import NormalMixture


def _loghr_fit(draws: np.ndarray) -> Fit:
    hr = xr.DataArray(np.exp(draws), dims=("chain", "draw"))
    inputs = {"prior_mean": 0.0, "prior_sd": 10.0, "y": 0.0, "se": 0.2}
    prior = {"log_hr": NormalMixture.single(0.0, 10.0)}
    draws = {"hr": hr, "log_hr": np.log(hr)}
    exact = loghr_summary.exact_probability
    return Fit("PFS", "loghr_summary", "vague", "fam", draws, inputs, prior, exact=exact)


def _checks(fits, plan, divergences):
    rules = endpoint_rules(plan, {"PFS": "survival"})
    exact = exact_check(fits, rules, plan.diagnostics.max_exact_gap_mcse)
    summary = summary_table(fits)
    return diagnostics_table(fits, summary, exact, {"fam": divergences}, rules, plan.diagnostics)


def test_good_draws_pass(plan):
    rng = np.random.default_rng(1)
    f = _loghr_fit(rng.normal(0.0, 0.2, size=(4, 2000)))
    diag = _checks([f], plan, 0)
    assert bool(diag["passed"].iloc[0]), diag["problems"].iloc[0]


def test_stuck_chain_and_divergences_fail(plan):
    rng = np.random.default_rng(2)
    draws = rng.normal(0.0, 0.2, size=(4, 2000))
    draws[0] += 1.0  # one chain elsewhere
    f = _loghr_fit(draws)
    row = _checks([f], plan, 3).iloc[0]
    assert not row["passed"]
    assert "r_hat" in row["problems"] and "3 divergences" in row["problems"]


def test_mixing_chains_from_the_wrong_posterior_fail_the_exact_check(plan):
    rng = np.random.default_rng(3)
    f = _loghr_fit(rng.normal(0.1, 0.2, size=(4, 2000)))  # exact posterior is N(0, 0.2)
    rules = endpoint_rules(plan, {"PFS": "survival"})
    exact = exact_check([f], rules, plan.diagnostics.max_exact_gap_mcse)
    assert not exact["within_tolerance"].all()
    row = _checks([f], plan, 0).iloc[0]
    assert not row["passed"] and "MCSE from exact" in row["problems"]
    assert "r_hat" not in row["problems"]


def test_probability_mcse_is_not_zero_at_the_edges():
    f = _loghr_fit(np.full((2, 500), -3.0))  # every draw below the margin
    from bayes_btc.decisions.rules import Rule

    p, se = probability_mcse(f, Rule("hr", "<", 1.3), 0.999999)
    assert p == 1.0 and se > 0
