from __future__ import annotations

import math

import pytest
from scipy import stats

from bayes_btc.errors import InputError
from bayes_btc.inputs.plan import load_plan
from tests.conftest import DEFAULT_PLAN


def test_named_priors_meet_their_tail_statements(plan):
    """Skeptical: centred on log 1.3 with P(HR < 1) = 0.05; enthusiastic: P(HR > 1.3) = 0.05."""
    m, s = plan.priors.log_hr["skeptical"].normal
    assert m == pytest.approx(math.log(1.3))
    assert stats.norm.cdf(0.0, m, s) == pytest.approx(0.05, abs=1e-12)
    m, s = plan.priors.log_hr["enthusiastic"].normal
    assert m == 0.0
    assert stats.norm.sf(math.log(1.3), m, s) == pytest.approx(0.05, abs=1e-12)
    assert plan.priors.log_hr["vague"].normal == (0.0, 10.0)
    assert (plan.priors.rate["jeffreys"].a, plan.priors.rate["jeffreys"].b) == (0.5, 0.5)


def test_default_plan_margins_and_grids(plan):
    assert (plan.margins.hr, plan.margins.efficacy_rate_diff, plan.margins.harm_rate_diff) == (
        1.3,
        -0.10,
        0.10,
    )
    assert plan.decision_threshold == 0.975
    hr = plan.margin_grid.hr.values()
    assert hr[0] == 1.0 and hr[-1] == 2.0 and len(hr) == 21
    orr = plan.margin_grid.efficacy_rate_diff.values()
    assert orr[0] == -0.2 and orr[-1] == 0.0


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("hr = 1.3                     #", "hr = 0  #", "field 'margins.hr'"),
        ("harm_rate_diff = 0.10", "harm_rate_diff = -1.10", "field 'margins.harm_rate_diff'"),
        (
            "tail_prob = 0.05\n\n[priors.log_hr.enthusiastic]",
            "\n[priors.log_hr.enthusiastic]",
            "give either 'mean' and 'sd'",
        ),
        ("draws = 10000", "draws = 'many'", "field 'sampler.draws'"),
        ('endpoints = "all"', 'endpoints = ["PFS", "DFS"]', "not reported by the trial"),
    ],
)
def test_bad_plan_is_one_line(tmp_path, spec, old, new, expected):
    text = DEFAULT_PLAN.read_text()
    assert old in text
    path = tmp_path / "plan.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as err:
        plan, _ = load_plan(path)
        plan.select_endpoints([*spec.survival, *spec.binary])
    assert expected in str(err.value) and "\n" not in str(err.value)
