from __future__ import annotations

import numpy as np
import xarray as xr

from bayes_btc.decisions.rules import BETTER, CURVE, NI, Rule, endpoint_rules, probability
from bayes_btc.decisions.tables import noninferiority_table
from bayes_btc.decisions.wording import describe
from bayes_btc.models.fit import Fit


def _fit(endpoint: str, **draws: np.ndarray) -> Fit:
    arrays = {k: xr.DataArray(v.reshape(2, -1), dims=("chain", "draw")) for k, v in draws.items()}
    return Fit(endpoint, "m", "p", "fam", arrays, {})


def test_rules_follow_the_plan(plan):
    rules = endpoint_rules(plan, {"PFS": "survival", "ORR": "efficacy", "AE_x": "harm"})
    assert rules["PFS"].ni == Rule("hr", "<", 1.3)
    assert rules["ORR"].ni == Rule("rate_diff", ">", -0.1)
    assert rules["AE_x"].ni == Rule("rate_diff", "<", 0.1)
    assert rules["AE_x"].better == Rule("rate_diff", "<", 0.0, BETTER)
    assert rules["PFS"].better == Rule("hr", "<", 1.0, BETTER)
    assert [r.margin for r in rules["ORR"].curve][:3] == [-0.2, -0.19, -0.18]


def test_probability_counts_draws_strictly():
    f = _fit("PFS", hr=np.array([0.5, 1.0, 1.29, 1.3, 1.31, 2.0]))
    assert probability(f, Rule("hr", "<", 1.3)) == 3 / 6
    g = _fit("ORR", rate_diff=np.array([-0.2, -0.1, 0.0, 0.3]))
    assert probability(g, Rule("rate_diff", ">", -0.1)) == 2 / 4


def test_table_has_plan_margin_curve_and_better_rows(plan):
    f = _fit("PFS", hr=np.linspace(0.5, 2.5, 1000))
    t = noninferiority_table([f], endpoint_rules(plan, {"PFS": "survival"}))
    assert set(t["estimand"]) == {NI, CURVE, BETTER}
    curve = t[t["estimand"] == CURVE]
    assert len(curve) == 21
    assert np.all(np.diff(curve["probability"].to_numpy()) >= 0)  # P(HR < m) grows with m
    ni = t[t["estimand"] == NI].iloc[0]
    assert ni["probability"] == (np.linspace(0.5, 2.5, 1000) < 1.3).mean()


def test_decision_words():
    r = Rule("hr", "<", 1.3)
    shown = describe("PFS", "PFS", "m", "vague", r, 0.99, 0.975, "TP", "GP")
    assert "IS shown" in shown and "below 1.3" in shown
    not_shown = describe("PFS", "PFS", "m", "vague", r, 0.98, 0.975, "TP", "GP", exact=0.97)
    assert "NOT shown" in not_shown and "exact" in not_shown
    edge = describe("PFS", "PFS", "m", "vague", r, 0.976, 0.975, "TP", "GP", mcse=0.002)
    assert "Borderline" in edge
