"""Reconstruction of any trial spec's survival endpoints, cached on disk by its inputs.

`fit --trial X` reconstructs the spec's survival endpoints by itself. The data sets depend only
on the spec's bytes (its SHA-256), the plan's `[reconstruction]` settings, the number of sets,
the seed and the package version, so they are cached under a key hashing all of these, in the
user cache directory (`BAYES_BTC_CACHE` overrides it). A cache that cannot be written is
skipped, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from bayes_btc import __version__
from bayes_btc.inputs.ipd import SurvivalIPD
from bayes_btc.inputs.plan import ReconstructionSettings
from bayes_btc.inputs.trial import TrialSpec
from bayes_btc.reconstruction.bundled import generate, load, save
from bayes_btc.reconstruction.summary import SummaryTarget, to_ipd


@dataclass(frozen=True)
class Reconstruction:
    """Reconstructed data sets per survival endpoint, where they are stored, and whether they
    were read from the cache."""

    sets: dict[str, list[SurvivalIPD]]
    path: Path | None
    cached: bool


def cache_dir() -> Path:
    """`BAYES_BTC_CACHE` if set, else the user cache directory of bayes-btc."""
    env = os.environ.get("BAYES_BTC_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("bayes-btc"))


def cache_key(spec_sha256: str, settings: ReconstructionSettings, n_sets: int, seed: int) -> str:
    """Hash of everything the reconstruction depends on."""
    payload = {
        "spec": spec_sha256,
        "settings": settings.model_dump(mode="json"),
        "sets": n_sets,
        "seed": seed,
        "version": __version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def reconstruct_trial(
    spec: TrialSpec,
    spec_sha256: str,
    settings: ReconstructionSettings,
    n_sets: int,
    seed: int,
    progress: Callable[[str], None] | None = None,
    directory: Path | None = None,
) -> Reconstruction:
    """Reconstructed sets for every survival endpoint of `spec`: from the cache when the same
    inputs were reconstructed before, else generated (deterministic for `seed`) and cached."""
    say = progress or (lambda _msg: None)
    folder = directory if directory is not None else cache_dir()
    path = folder / f"reconstruction_{cache_key(spec_sha256, settings, n_sets, seed)}_ipd.csv"
    if path.is_file():
        say(f"survival reconstruction read from the cache: {path}")
        return Reconstruction(load(spec, path, settings), path, True)
    ipd, calibration = generate(spec, n_sets, seed, settings, say)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        save(ipd, calibration, path)
        say(f"survival reconstruction cached in {path}")
        # read back, so a first run fits exactly the (10-digit) data a cached run reads
        return Reconstruction(load(spec, path, settings), path, False)
    except OSError as exc:
        say(f"survival reconstruction not cached ({exc.strerror or exc})")
        path = None
    sets = {}
    for endpoint, g in ipd.groupby("endpoint", sort=False):
        target = SummaryTarget.from_trial(spec, str(endpoint), settings)
        sets[str(endpoint)] = to_ipd(g.drop(columns="endpoint"), target)
    return Reconstruction(sets, path, False)
