"""Shared fixtures: the bundled trial and plan, and one quick CLI fit reused by many tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from lifelines.datasets import load_gbsg2
from typer.testing import CliRunner

from bayes_btc.cli import app
from bayes_btc.inputs.ipd import DAYS_PER_MONTH
from bayes_btc.inputs.plan import Plan, load_plan
from bayes_btc.inputs.trial import TrialSpec, load_trial

BUNDLED_TRIAL = Path(__file__).parents[1] / "bayes_btc" / "data" / "chiecrct_20180167.toml"
DEFAULT_PLAN = Path(__file__).parents[1] / "models" / "default.toml"
COMMITTED = Path(__file__).parents[1] / "results"


def committed_copy(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A copy of the committed default `results/` without its posteriors and report (the
    test is skipped when none is committed)."""
    if not (COMMITTED / "provenance.json").exists():
        pytest.skip("no committed default results")
    out = tmp_path_factory.mktemp(name) / "results"
    shutil.copytree(COMMITTED, out, ignore=shutil.ignore_patterns("posterior", "report.*"))
    return out


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


@pytest.fixture(scope="session")
def gbsg2_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict[str, Path]]:
    """The same trial as a plain CSV (months), an ADTTE CSV and an ADTTE .xpt (days)."""
    d = load_gbsg2()
    out = tmp_path_factory.mktemp("gbsg2")
    arm = np.where(d["horTh"] == "yes", "HORM", "NOHORM")
    plain = pd.DataFrame({"arm": arm, "time": d["time"] / DAYS_PER_MONTH, "event": d["cens"]})
    plain["age"] = d["age"]  # an extra column, ignored
    plain.to_csv(out / "plain.csv", index=False)
    adam = pd.DataFrame(
        {
            "USUBJID": [f"GBSG-{i:04d}" for i in range(len(d))],
            "PARAMCD": "OS",
            "AVAL": d["time"].astype(float),
            "AVALU": "DAYS",
            "CNSR": (1 - d["cens"]).astype(float),
            "TRT01P": arm,
        }
    )
    adam.to_csv(out / "adtte.csv", index=False)
    pyreadstat.write_xport(adam, str(out / "adtte.xpt"), file_format_version=5)
    return d, {"plain": out / "plain.csv", "csv": out / "adtte.csv", "xpt": out / "adtte.xpt"}
