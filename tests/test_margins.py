"""Margins per endpoint (a default per kind, overridable per endpoint), superiority margins,
and decision words that match the claim (never 'non-inferiority IS shown' for superiority)."""

from __future__ import annotations

import pytest

from bayes_btc.decisions.rules import endpoint_rules
from bayes_btc.decisions.wording import describe
from bayes_btc.errors import InputError
from bayes_btc.inputs.plan import Margins, load_plan

KINDS = {"PFS": "survival", "OS": "survival", "ORR": "efficacy", "AE_x": "harm"}


def _plan(**margins):
    plan, _ = load_plan()
    raw = plan.model_dump(by_alias=True)
    raw["margins"] = {**raw["margins"], **margins}
    return type(plan).model_validate(raw)


def test_per_endpoint_margin_overrides_the_kind_default():
    rules = endpoint_rules(_plan(per_endpoint={"OS": 1.25, "ORR": 0.05}), KINDS)
    assert rules["OS"].ni.margin == 1.25 and rules["OS"].ni.claim == "non-inferior"
    assert rules["PFS"].ni.margin == 1.3
    assert rules["ORR"].ni.margin == 0.05 and rules["ORR"].ni.claim == "superior"
    assert rules["AE_x"].ni.margin == 0.10 and rules["AE_x"].ni.claim == "non-inferior"


@pytest.mark.parametrize(
    ("kind", "margin", "claim"),
    [
        ("survival", 1.3, "non-inferior"),
        ("survival", 1.0, "superior"),
        ("survival", 0.8, "superior"),
        ("efficacy", -0.1, "non-inferior"),
        ("efficacy", 0.1, "superior"),
        ("harm", 0.1, "non-inferior"),
        ("harm", -0.05, "superior"),
    ],
)
def test_claim_follows_the_side_of_no_difference(kind, margin, claim):
    assert Margins.claim(kind, margin) == claim


def test_superiority_words():
    rules = endpoint_rules(_plan(hr=0.8, efficacy_rate_diff=0.1), KINDS)
    hr = describe("OS", "Overall survival", "m", "vague", rules["OS"].ni, 0.99, 0.975, "A", "B")
    assert "below 0.8" in hr and "superiority IS shown" in hr and "non-inferiority" not in hr
    rr = describe("ORR", "Response", "m", "vague", rules["ORR"].ni, 0.5, 0.975, "A", "B")
    assert "at least 10 points above B's" in rr and "superiority is NOT shown" in rr
    ni = describe("AE_x", "AE", "m", "vague", rules["AE_x"].ni, 0.99, 0.975, "A", "B")
    assert "non-inferiority IS shown" in ni


@pytest.mark.parametrize(
    ("per_endpoint", "expected"),
    [({"DFS": 1.2}, "margins.per_endpoint names ['DFS']"), ({"OS": -1.0}, "per_endpoint.OS")],
)
def test_bad_per_endpoint_margin_is_one_line(per_endpoint, expected):
    with pytest.raises(InputError) as err:
        endpoint_rules(_plan(per_endpoint=per_endpoint), KINDS)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_toml_table_form(tmp_path):
    from tests.conftest import DEFAULT_PLAN

    text = DEFAULT_PLAN.read_text().replace(
        "[margin_grid]", "[margins.per_endpoint]\nOS = 1.25\n\n[margin_grid]", 1
    )
    path = tmp_path / "plan.toml"
    path.write_text(text)
    plan, _ = load_plan(path)
    assert plan.margins.of("survival", "OS") == 1.25 and plan.margins.of("survival", "PFS") == 1.3
