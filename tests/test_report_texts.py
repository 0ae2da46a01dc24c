"""Report texts that must hold off the bundled trial: the answer's margins come from the plan
per endpoint (not one margin per kind, not 'for response'), and a prior the plan names but no
fit used (historical priors that do not apply) is marked as not used. Fast: the committed
default results are read, not refitted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bayes_btc.output.report_answer import margin_phrases
from bayes_btc.output.report_blocks import prior_table
from bayes_btc.output.saved import SavedResults, load_results

COMMITTED = Path(__file__).parents[1] / "results"


@pytest.fixture(scope="module")
def saved() -> SavedResults:
    if not (COMMITTED / "provenance.json").exists():
        pytest.skip("no committed default results")
    return load_results(COMMITTED)


def test_answer_margins_are_per_endpoint_with_their_claim(saved: SavedResults) -> None:
    t, c = saved.study.arms
    survival = [e for e, k in saved.kinds.items() if k == "survival"]
    efficacy = [e for e, k in saved.kinds.items() if k == "efficacy"]
    assert len(survival) >= 2 and efficacy
    margins = saved.plan.margins.model_copy(update={"per_endpoint": {survival[0]: 0.8}})
    r = dataclasses.replace(saved, plan=saved.plan.model_copy(update={"margins": margins}))
    phrases = margin_phrases(r)
    assert f"HR ({t} vs {c}) < 0.8 (superior) for {survival[0]}" in phrases
    rest = ", ".join(survival[1:])
    assert f"HR ({t} vs {c}) < {saved.plan.margins.hr:g} for {rest}" in phrases
    rate = f"rate difference ({t} - {c}) > {saved.plan.margins.efficacy_rate_diff:g} for "
    assert any(p.startswith(rate) and efficacy[0] in p for p in phrases)
    assert not any("response" in p for p in phrases)


def test_priors_no_fit_used_are_marked_not_used(saved: SavedResults) -> None:
    ni = saved.noninferiority
    r = dataclasses.replace(saved, noninferiority=ni[~ni["prior"].str.startswith("historical")])
    table = prior_table(r)
    hist = table["name"].str.startswith("historical")
    assert hist.any()
    assert table.loc[hist, "description"].str.startswith("NOT USED").all()
    assert not table.loc[~hist, "description"].str.contains("NOT USED").any()
    assert not prior_table(saved)["description"].str.contains("NOT USED").any()
