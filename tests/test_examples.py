"""The example trial specs (ABC-02, TOPAZ-1) end to end: `bayes-btc fit --trial X --quick`
reconstructs their survival endpoints by itself (cached, and says so), writes cox_check.csv,
and no output text mentions the bundled trial, its arms or its 24/24 split. Smallest
settings: one prior per family, two reconstructed sets, few draws."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_btc.cli import app
from bayes_btc.inputs.trial import load_trial

EXAMPLES = Path(__file__).parents[1] / "examples"
BUNDLED_WORDS = re.compile(
    r"\bTP\b|\bGP\b|paclitaxel|nab-|albumin|24/24|48 evaluable|ChiECRCT|Gem arms"
    r"|(?<![\d.])4099(?![\d.])",  # the bundled trial's size as a whole number, not 0.4099
    re.IGNORECASE,
)
SMALL_PLAN = """
title = "Smallest settings for end-to-end runs"
[priors.log_hr.vague]
mean = 0.0
sd = 10.0
[priors.rate.vague]
a = 1.0
b = 1.0
[sampler_quick]
chains = 2
cores = 2
tune = 200
draws = 300
seed = 1
[pwe]
reconstructed_draws = 150
[reconstruction]
sets_quick = 2
"""


@pytest.mark.parametrize("name", ["abc02", "topaz1"])
def test_example_specs_load_and_quote_their_source(name: str) -> None:
    spec, _ = load_trial(EXAMPLES / f"{name}.toml")
    assert spec.survival and spec.trial.source
    for s in spec.survival.values():
        assert s.quote and s.p is not None
    text = (EXAMPLES / f"{name}.toml").read_text()
    assert not BUNDLED_WORDS.search(text)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["abc02", "topaz1"])
def test_example_fit_end_to_end(name: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BAYES_BTC_CACHE", str(tmp_path / "cache"))
    plan = tmp_path / "plan.toml"
    plan.write_text(SMALL_PLAN)
    out = tmp_path / "results"
    args = ["fit", "--trial", str(EXAMPLES / f"{name}.toml"), "--plan", str(plan), "--quick"]
    r = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "RECONSTRUCTED" in r.output and "cached in" in r.output
    decisions = pd.read_csv(out / "decisions.csv")
    assert {"pwe_ph_reconstructed", "pwe_nonph_reconstructed"} <= set(decisions["model"])
    cox = pd.read_csv(out / "cox_check.csv")
    assert len(cox) == 2 * len(load_trial(EXAMPLES / f"{name}.toml")[0].survival)
    assert cox["cox_hr"].gt(0).all() and cox["ph_test_p"].between(0, 1).all()
    for f in out.rglob("*"):
        if f.suffix in {".csv", ".md", ".html", ".json"}:
            text = re.sub(r"data:image/\w+;base64,[A-Za-z0-9+/=]+", "", f.read_text())
            hit = BUNDLED_WORDS.search(text)
            assert hit is None, f"{f.name}: {hit.group(0) if hit else ''}"
    again = CliRunner().invoke(app, [*args, "--summary-only", "--out", str(tmp_path / "s")])
    assert again.exit_code == 0, again.output
    assert "RECONSTRUCTED" not in again.output  # --summary-only: no reconstruction, no PWE
    models = set(pd.read_csv(tmp_path / "s" / "decisions.csv")["model"])
    assert models and not any(m.endswith("_reconstructed") for m in models)
