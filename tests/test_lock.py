"""The lock file pins every dependency (and the test extra) to one version with hashes; the
Makefile installs from it; provenance.json records its hash and the installed versions."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from bayes_btc.output.environment import LOCK_FILE, environment, lock_pins, normalise

ROOT = Path(__file__).parents[1]


def _requirement_blocks(text: str) -> list[str]:
    """One string per requirement of a pip requirements file (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [ln for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_lock_pins_every_dependency_with_hashes():
    assert LOCK_FILE == ROOT / "requirements.lock"
    blocks = _requirement_blocks(LOCK_FILE.read_text())
    pinned = {}
    for block in blocks:
        req = Requirement(block.split(" --hash")[0])
        (spec,) = req.specifier  # exactly one specifier: ==version
        assert spec.operator == "==", block
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), block
        pinned[normalise(req.name)] = spec.version
    assert lock_pins(LOCK_FILE.read_text()) == pinned
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    for dep in wanted:
        req = Requirement(dep)
        name = normalise(req.name)
        assert name in pinned, name
        assert req.specifier.contains(pinned[name]), (dep, pinned[name])


def test_make_installs_from_the_lock():
    make = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in make
    assert "--no-deps -e ." in make
    assert re.search(r"^\$\(STAMP\):.*requirements\.lock", make, re.M)
    assert "uv pip compile" in (ROOT / "scripts" / "lock").read_text()


def test_environment_reports_departures_from_the_lock(tmp_path):
    env = environment()
    assert env["lock_sha256"] == hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()
    assert env["installed"]["numpy"] == __import__("numpy").__version__
    fake = tmp_path / "requirements.lock"
    fake.write_text("numpy==0.0.1 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    other = environment(fake)
    assert not other["matches_lock"]
    assert other["differs_from_lock"]["numpy"]["locked"] == "0.0.1"
    assert environment(tmp_path / "none.lock")["lock_sha256"] is None


def test_provenance_records_the_lock(quick_results):
    prov = json.loads((quick_results / "provenance.json").read_text())
    assert prov["environment"]["lock_sha256"] == environment()["lock_sha256"]
    assert prov["environment"]["installed"]["pymc"] == prov["versions"]["pymc"]
