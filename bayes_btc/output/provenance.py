"""provenance.json: what a reviewer needs to re-run and check the numbers (versions and the
lock file's hash, input and plan hashes, the full plan, sampler settings, seed, command,
assumptions)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from bayes_btc import __version__
from bayes_btc.analysis.result import Analysis
from bayes_btc.output.contract import RESULTS_FORMAT
from bayes_btc.output.environment import environment

DEPENDENCIES = [
    "pymc",
    "pytensor",
    "arviz",
    "arviz-base",
    "arviz-stats",
    "nutpie",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "pydantic",
    "typer",
    "h5netcdf",
    "h5py",
    "numba",
]


def package_versions() -> dict[str, str]:
    out = {"bayes-btc": __version__, "python": sys.version.split()[0]}
    for name in DEPENDENCIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(
    a: Analysis,
    *,
    trial_path: str,
    trial_sha256: str,
    plan_path: str,
    plan_sha256: str,
    command: list[str],
    quick: bool,
) -> dict:
    """What a reviewer needs to re-run and check the numbers."""
    return {
        "package": "bayes-btc",
        "package_version": __version__,
        "results_format": RESULTS_FORMAT,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "rerun": " ".join(["bayes-btc", *command[1:]]) if command else "",
        "trial": {
            "path": trial_path,
            "sha256": trial_sha256,
            "id": a.study.id,
            "data_level": a.study.data_level,
        },
        "plan": {
            "path": plan_path,
            "sha256": plan_sha256,
            "content": a.plan.model_dump(mode="json", by_alias=True),
        },
        "sampler": {**a.sampler.model_dump(), "quick": quick, "engine": "nutpie NUTS"},
        "historical": None
        if a.historical is None
        else {
            "data": a.plan.historical.data,
            "sha256": a.historical.data_sha256,
            "converged": a.historical.converged,
            **a.historical.about,
        },
        "seed": a.sampler.seed,
        "endpoints": a.endpoints,
        "kinds": a.kinds,
        "study": dataclasses.asdict(a.study),
        "seconds": {k: round(v, 2) for k, v in a.seconds.items()},
        "converged": a.converged,
        "versions": package_versions(),
        "environment": environment(),
        "platform": platform.platform(),
        "assumptions": a.assumptions,
        "tipping_point": a.tipping.sentences if a.tipping is not None else [],
    }


def posterior_attrs(a: Analysis, family: str, prov: dict) -> dict[str, str | int]:
    """Attributes of a saved posterior (pymc-marketing's idea): the plan and sampler settings
    it was fitted with, as JSON, their hash, and the inputs' hashes; `read_posterior` checks
    them when a posterior is read back."""
    plan_json = json.dumps(a.plan.model_dump(mode="json", by_alias=True), sort_keys=True)
    sampler_json = json.dumps(a.sampler.model_dump(mode="json"), sort_keys=True)
    return {
        "bayes_btc_version": __version__,
        "model_family": family,
        "trial_sha256": prov["trial"]["sha256"],
        "plan_sha256": prov["plan"]["sha256"],
        "seed": a.sampler.seed,
        "plan_json": plan_json,
        "sampler_json": sampler_json,
        "config_sha256": config_hash(plan_json, sampler_json),
    }


def config_hash(plan_json: str, sampler_json: str) -> str:
    """sha256 of the plan and sampler settings (sorted-key JSON)."""
    return hashlib.sha256(f"{plan_json}\n{sampler_json}".encode()).hexdigest()
