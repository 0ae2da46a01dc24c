"""The inverted HR reading is fitted only where the audit flags the printed direction (HR and
medians point different ways), or for all / none when the plan says so."""

from __future__ import annotations

import numpy as np

from bayes_btc.analysis.run import inverted_endpoints
from bayes_btc.inputs.audit import audit_trial
from bayes_btc.inputs.plan import load_plan
from bayes_btc.inputs.trial import load_trial
from bayes_btc.models.loghr_summary import LogHRData, build_loghr_model


def _plan(mode: str):
    plan, _ = load_plan()
    return plan.model_copy(update={"inverted_hr": mode})


def test_only_flagged_endpoints_get_the_inverted_reading():
    spec, _ = load_trial()
    audit = audit_trial(spec)
    # bundled: PFS HR 1.33 with the treatment's median longer (flagged); OS consistent
    assert inverted_endpoints(_plan("auto"), audit, ["PFS", "OS"]) == ["PFS"]
    assert inverted_endpoints(_plan("always"), audit, ["PFS", "OS"]) == ["PFS", "OS"]
    assert inverted_endpoints(_plan("never"), audit, ["PFS", "OS"]) == []


def test_confirmed_direction_fits_no_inverted_reading():
    spec, _ = load_trial()
    text = spec.model_dump()
    text["survival"]["PFS"]["median_months"] = {"TP": 6.5, "GP": 7.5}  # now consistent
    spec = type(spec).model_validate(text)
    audit = audit_trial(spec)
    assert inverted_endpoints(_plan("auto"), audit, ["PFS", "OS"]) == []
    data = LogHRData.from_trial(spec, ["PFS", "OS"], inverted=False)
    model = build_loghr_model(data, {"vague": load_plan()[0].priors.log_hr["vague"].mixture})
    assert list(model.coords["reading"]) == ["as_printed"]
    assert np.allclose(data.log_hr[:, 0], np.log([1.33, spec.survival["OS"].hr]))
