"""priors.csv: every prior the fits used, with ESS by ELIR, moment and Morita; a control
prior 0.2 Beta(1, 1) + 0.8 Beta(10, 2) reports the values of RBesT's ess() for it (the
definitions, computed independently in tests/test_ess.py)."""

from __future__ import annotations

import pytest

from bayes_btc.inputs.plan import load_plan
from bayes_btc.models.fit import Fit
from bayes_btc.priors.used import priors_table


def _fit(endpoint: str, model: str, prior: str) -> Fit:
    return Fit(endpoint, model, prior, model, {}, {})


def test_robust_control_prior_ess_in_priors_table():
    plan, _ = load_plan()
    raw = plan.model_dump(by_alias=True)
    raw["priors"]["rate"]["robust_mix"] = {
        "treatment": {"a": 1.0, "b": 1.0},
        "control": {"weights": [0.2, 0.8], "a": [1.0, 10.0], "b": [1.0, 2.0]},
    }
    plan = type(plan).model_validate(raw)
    fits = [_fit("ORR", "beta_binomial", "robust_mix"), _fit("PFS", "loghr_summary", "vague")]
    table = priors_table(plan, fits, ("New", "Old"), None)
    row = table[(table["prior"] == "robust_mix") & (table["arm"] == "Old")].iloc[0]
    assert row["mixture"] == "0.2 x Beta(1, 1) + 0.8 x Beta(10, 2)"
    assert f"{row['ess_elir']:.4g}" == "7.652"
    assert f"{row['ess_moment']:.4g}" == "3.161"
    assert f"{row['ess_morita']:.4g}" == "8.488"
    assert row["ess_unit"] == "patients"
    flat = table[(table["prior"] == "robust_mix") & (table["arm"] == "New")].iloc[0]
    assert flat["ess_elir"] == pytest.approx(0.0, abs=1e-9)  # no curvature in a flat prior
    assert flat["ess_moment"] == pytest.approx(2.0)
    hr = table[table["endpoint"] == "PFS"].iloc[0]
    assert hr["arm"] == "New vs Old" and hr["ess_unit"] == "events"
    # Normal(0, 10) on the log-HR: 4 / 100 events by every method (Morita: less 1/s)
    assert hr["ess_elir"] == pytest.approx(0.04) and hr["ess_moment"] == pytest.approx(0.04)
    assert set(table["endpoint"]) == {"ORR", "PFS"}
