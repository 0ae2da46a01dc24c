"""Historical priors are explicit about what they apply to: the data file declares its regimen
and endpoints, the plan may say which arm and endpoints borrow, and an offer the file does not
declare is refused with one line naming both (CLI: exit 2, before any sampling)."""

from __future__ import annotations

from importlib import resources

import pytest

from bayes_btc.cli import app
from bayes_btc.errors import InputError
from bayes_btc.inputs.historical import HistoricalData, binomial_series, load_historical
from bayes_btc.inputs.plan import HistoricalSettings
from bayes_btc.priors.borrowing import borrowing, regimen_key, without_analysed_trial
from tests.conftest import BUNDLED_TRIAL, DEFAULT_PLAN

KINDS = {"PFS": "survival", "OS": "survival", "RR": "efficacy", "AE_rash": "harm"}


@pytest.fixture(scope="module")
def data() -> HistoricalData:
    return load_historical()[0]


def test_regimens_match_however_written():
    assert regimen_key("Cisplatin plus gemcitabine") == regimen_key("gemcitabine + cisplatin")
    assert regimen_key("gemcitabine/cisplatin") == regimen_key("cisplatin and  Gemcitabine")
    assert regimen_key("gemcitabine") != regimen_key("gemcitabine + cisplatin")


def test_default_borrows_by_name_and_says_what_it_leaves_out(data):
    got = borrowing(data, "f.toml", HistoricalSettings(), ("GP", "gemcitabine + cisplatin"), KINDS)
    assert got.endpoints == {"PFS": "PFS", "OS": "OS"}
    assert len(got.notes) == 1 and "RR" in got.notes[0] and "AE_rash" in got.notes[0]
    assert "ORR (rate)" in got.notes[0]


def test_default_never_borrows_for_another_regimen(data):
    for control in (("B", "B"), ("Gem", "gemcitabine")):
        got = borrowing(data, "f.toml", HistoricalSettings(), control, KINDS)
        assert got.endpoints == {}
        assert "NOT used" in got.notes[0] and "gemcitabine + cisplatin" in got.notes[0]


def test_plan_maps_any_endpoint_name(data):
    settings = HistoricalSettings(arm="GP", endpoints={"RR": "ORR", "PFS": "PFS"})
    got = borrowing(data, "f.toml", settings, ("GP", "GemCis"), KINDS)
    assert got.endpoints == {"RR": "ORR", "PFS": "PFS"} and not got.notes


@pytest.mark.parametrize(
    ("settings", "control", "both"),
    [
        (
            HistoricalSettings(arm="Gem"),
            ("Gem", "gemcitabine"),
            ["'gemcitabine + cisplatin'", "'Gem'"],
        ),
        (HistoricalSettings(endpoints={"PFS": "DFS"}), ("GP", "GP"), ["'DFS'", "'PFS'"]),
        (HistoricalSettings(endpoints={"RR": "OS"}), ("GP", "GP"), ["'OS'", "'RR'"]),
        (HistoricalSettings(arm="TP"), ("GP", "GP"), ["'TP'", "'GP'"]),
    ],
)
def test_an_offer_the_file_does_not_declare_is_refused(data, settings, control, both):
    with pytest.raises(InputError) as err:
        borrowing(data, "f.toml", settings, control, KINDS)
    msg = str(err.value)
    assert "\n" not in msg and all(x in msg for x in both), msg


def test_rates_as_counts_or_percentages():
    src = {"basis": "published", "source": "synthetic"}
    trial = {"reference": "synthetic", "url": "https://example.org", "n": {"value": 50, **src}}
    data = HistoricalData.model_validate(
        {
            "regimen": "X + Y",
            "population": "synthetic",
            "endpoints": {"DCR": "rate"},
            "trial": [
                {"name": "A", **trial, "DCR": {"responders": 17, "denominator": 50, **src}},
                {"name": "B", **trial, "DCR": {"percent": "40.0", "denominator": 50, **src}},
            ],
        }
    )
    s = binomial_series(data, "DCR")
    assert s is not None and s.events == [17, 20] and s.n == [50, 50]
    assert s.notes[0] == "17/50 responders" and s.assumed == [False, False]


def _files(tmp_path, control_label: str, historical: str) -> list[str]:
    spec = BUNDLED_TRIAL.read_text().replace(
        'label = "gemcitabine + cisplatin"', f'label = "{control_label}"'
    )
    (tmp_path / "trial.toml").write_text(spec)
    plan = DEFAULT_PLAN.read_text().replace('data = "bundled"', f'data = "bundled"\n{historical}')
    (tmp_path / "plan.toml").write_text(plan)
    return ["--trial", str(tmp_path / "trial.toml"), "--plan", str(tmp_path / "plan.toml")]


@pytest.mark.parametrize(
    ("label", "historical", "both"),
    [
        ("gemcitabine", 'arm = "GP"', ["gemcitabine + cisplatin", "'GP' (gemcitabine)"]),
        ("gemcitabine + cisplatin", 'endpoints = { PFS = "DFS" }', ["'DFS'", "'PFS'"]),
    ],
)
def test_cli_refuses_with_one_line_and_exit_2(runner, tmp_path, label, historical, both):
    out = tmp_path / "results"
    args = _files(tmp_path, label, historical)
    r = runner.invoke(app, ["fit", "--quick", "--summary-only", *args, "--out", str(out)])
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert all(x in lines[0] for x in both), lines[0]
    assert not out.exists()


def test_bundled_file_declares_what_it_is_about():
    text = (resources.files("bayes_btc.data") / "historical_gp.toml").read_text()
    data = load_historical()[0]
    assert data.regimen in text and data.population and set(data.endpoints) == {"ORR", "PFS", "OS"}


def test_a_prior_attaches_to_any_endpoint_name(data):
    """A trial calling response 'RR' borrows the file's 'ORR' when the plan maps it: the MAP
    prior is keyed by the trial's name and reaches the control arm's rate prior."""
    from bayes_btc.inputs.plan import Sampler, load_plan
    from bayes_btc.priors.map_prior import derive_map_priors
    from bayes_btc.priors.named import rate_priors

    settings = HistoricalSettings(chains=2, draws=300, endpoints={"RR": "ORR"})
    got = borrowing(data, "f.toml", settings, ("GP", "GP"), {"RR": "efficacy"})
    h = derive_map_priors(data, got.endpoints, settings, Sampler(chains=2, tune=300, seed=5))
    assert h is not None and set(h.priors) == {"RR"}
    assert set(h.trials["endpoint"]) == {"RR"} and h.about["borrowed"] == {"RR": "ORR"}
    cells = rate_priors(load_plan()[0], ["RR"], h).cells
    assert cells[("RR", 1, "historical")] is h.priors["RR"].map


def test_the_analysed_trial_is_left_out_of_its_own_historical_prior():
    """A trial found among the historical arms (by name, any case or punctuation) is dropped
    from the MAP data with a note; other trials keep every arm (names read from the TOML)."""
    import tomllib

    raw = tomllib.loads(
        resources.files("bayes_btc.data").joinpath("historical_gp.toml").read_text()
    )
    names = [t["name"] for t in raw["trial"]]
    assert "TOPAZ-1" in names
    data = load_historical()[0]
    trimmed, notes = without_analysed_trial(data, "topaz 1")
    assert [t.name for t in trimmed.trial] == [n for n in names if n != "TOPAZ-1"]
    assert len(notes) == 1 and "TOPAZ-1" in notes[0] and "counted twice" in notes[0]
    same, none = without_analysed_trial(data, "ChiECRCT20180167")
    assert [t.name for t in same.trial] == names and none == []
