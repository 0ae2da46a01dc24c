from __future__ import annotations

from pathlib import Path

import pytest

from bayes_btc.errors import InputError
from bayes_btc.inputs.trial import load_trial
from tests.conftest import BUNDLED_TRIAL


def test_bundled_trial_matches_the_abstract(spec):
    assert spec.arm_order == ("TP", "GP")
    assert (spec.arms["TP"].randomised, spec.arms["GP"].randomised) == (33, 34)
    assert spec.evaluable is not None and spec.evaluable.n == 48
    pfs, os_ = spec.survival["PFS"], spec.survival["OS"]
    assert (pfs.hr, pfs.ci, pfs.p) == (1.33, (0.61, 2.91), 0.469)
    assert (os_.hr, os_.ci, os_.p) == (1.62, (0.67, 4.17), 0.271)
    assert pfs.median_months == {"TP": 7.7, "GP": 7.5}
    assert spec.binary["ORR"].percent == {"TP": "39.4", "GP": "35.3"}
    assert len([b for b in spec.binary if b.startswith("AE_")]) == 5
    for s in [*spec.survival.values(), *spec.binary.values()]:
        assert s.quote, "every value carries its source sentence"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "trial.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "hr = 1.33",
            "hr = 3.5",
            "field 'survival.PFS': CI [0.61, 2.91] does not contain the HR 3.5",
        ),
        (
            'percent = { TP = "39.4", GP = "35.3" }',
            'percent = { TP = "139.4", GP = "35.3" }',
            "field 'binary.ORR.percent': percentage for arm TP is outside 0-100",
        ),
        ("randomised = 33", "randomised = -3", "field 'arms.TP.randomised'"),
        ("randomised = 33", "randomized = 33", "field 'arms.TP.randomised': required field"),
        ('kind = "efficacy"', 'kind = "benefit"', "field 'binary.ORR.kind'"),
        ('treatment = "TP"', 'treatment = "XX"', "must be exactly the treatment and control"),
    ],
)
def test_bad_field_is_one_line_naming_it(tmp_path, old, new, expected):
    text = BUNDLED_TRIAL.read_text()
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(InputError) as err:
        load_trial(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(str(path))
    assert expected in msg


def test_missing_file_and_invalid_toml(tmp_path):
    with pytest.raises(InputError, match="trial spec not found"):
        load_trial(tmp_path / "nope.toml")
    with pytest.raises(InputError, match="invalid TOML"):
        load_trial(_write(tmp_path, "[trial\nid = 1"))
