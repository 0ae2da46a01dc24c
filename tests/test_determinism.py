"""Same inputs and seed give byte-identical results, whatever else runs on the machine and
whether or not the compile caches are warm (PyTensor's numba backend without fast-math)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).parents[1]
BUNDLED_SETS = ROOT / "bayes_btc" / "data" / "reconstructed_ipd.csv"
COMPARED = ("summary.csv", "noninferiority.csv", "decisions.csv")


def test_compiled_models_use_exact_math():
    import pytensor

    import bayes_btc.inference.sampling  # noqa: F401  (sets the flag on import)

    assert pytensor.config.numba__fastmath is False


def _start(out: Path, sets: Path, cache: Path) -> subprocess.Popen:
    env = os.environ | {
        "PYTENSOR_FLAGS": f"compiledir={cache / 'pytensor'}",
        "NUMBA_CACHE_DIR": str(cache / "numba"),
        "PYTHONPATH": str(ROOT),
    }
    args = ["fit", "--quick", "--prior", "vague", "--reconstructed", str(sets), "--out", str(out)]
    return subprocess.Popen(
        [sys.executable, "-m", "bayes_btc", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=1200)
    assert proc.returncode == 0, err


@pytest.mark.slow
def test_cold_warm_and_parallel_runs_are_byte_identical(tmp_path):
    """One run with empty compile caches, then two runs at the same time sharing the now warm
    caches (one reconstructed data set per endpoint, vague prior, quick sampler: every model
    family, the piecewise-exponential ones included)."""
    sets = tmp_path / "one_set.csv"
    frame = pd.read_csv(BUNDLED_SETS)
    frame[frame["dataset"] == 1].to_csv(sets, index=False)
    cache = tmp_path / "cache"
    _finish(_start(tmp_path / "cold", sets, cache))
    both = [_start(tmp_path / name, sets, cache) for name in ("warm1", "warm2")]
    for proc in both:
        _finish(proc)
    for f in COMPARED:
        cold = (tmp_path / "cold" / f).read_bytes()
        assert (tmp_path / "warm1" / f).read_bytes() == cold, f
        assert (tmp_path / "warm2" / f).read_bytes() == cold, f
    assert "pwe_nonph_reconstructed" in (tmp_path / "cold" / "summary.csv").read_text()
