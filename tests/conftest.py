"""Shared fixtures: the bundled trial and plan, and one quick CLI fit reused by many tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bayes_btc.cli import app
from bayes_btc.plan import Plan, load_plan
from bayes_btc.trial import TrialSpec, load_trial

BUNDLED_TRIAL = Path(__file__).parents[1] / "bayes_btc" / "data" / "chiecrct_20180167.toml"
DEFAULT_PLAN = Path(__file__).parents[1] / "models" / "default.toml"


@pytest.fixture(scope="session")
def spec() -> TrialSpec:
    return load_trial()[0]


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan()[0]


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`bayes-btc fit --quick` once for the whole session."""
    out = tmp_path_factory.mktemp("quick") / "results"
    result = CliRunner().invoke(app, ["fit", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out
