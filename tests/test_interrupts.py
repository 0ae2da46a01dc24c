"""Every interrupt stops the run promptly, whatever stage it is at (MAP fit, compiling,
sampling of a family, figures, report): exit 130, one line, the previous results byte-for-byte
and no staging folder left. The stage is read from the progress lines on stderr."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bayes_btc.output.contract import MARKER
from bayes_btc.output.folder import marker_text
from tests.conftest import DEFAULT_PLAN

ROOT = Path(__file__).parents[1]
# a long warm-up (no extra memory: warm-up draws are not kept) so that sampling lasts a while
SLOW_SAMPLING = DEFAULT_PLAN.read_text().replace(
    "[sampler_quick]              # `--quick`: smoke tests only, not for decisions\n"
    "chains = 2\ncores = 2\ntune = 500",
    "[sampler_quick]\nchains = 2\ncores = 2\ntune = 400000",
)
# the conjugate models get exact draws by default; sampled by NUTS here (the check mode), so
# that their compile and sampling can be interrupted too
MCMC = '[sampler_quick]\nconjugate = "mcmc"\n'
SLOW_MCMC = SLOW_SAMPLING.replace("[sampler_quick]\n", MCMC, 1)
QUICK_MCMC = DEFAULT_PLAN.read_text().replace(
    "[sampler_quick]              # `--quick`: smoke tests only, not for decisions\n", MCMC, 1
)
# the MAP meta-analysis gets exact draws by quadrature by default; NUTS here (the check mode)
MAP_NUTS = ('sampler = "exact"', 'sampler = "nuts"')
PLANS = {
    "slow": SLOW_SAMPLING,
    "slow_mcmc": SLOW_MCMC,
    "mcmc": QUICK_MCMC,
    "map_nuts": DEFAULT_PLAN.read_text().replace(*MAP_NUTS, 1),
    "slow_map_nuts": SLOW_SAMPLING.replace(*MAP_NUTS, 1),
}
SUMMARY_VAGUE = ["--summary-only", "--prior", "vague"]
MAP_ONLY = ["--summary-only", "--prior", "historical"]

# (id, extra fit arguments, plan (PLANS key or None), progress text marking the stage, delay s,
# signal)
STAGES = [
    ("map-compile", MAP_ONLY, "map_nuts", "map_meta: compiling", 0.5, signal.SIGINT),
    ("map-sampling", MAP_ONLY, "slow_map_nuts", "map_meta: sampling", 1.0, signal.SIGTERM),
    ("summary-compile", SUMMARY_VAGUE, "mcmc", "loghr_summary: compiling", 2.0, signal.SIGTERM),
    ("summary-sampling", SUMMARY_VAGUE, "slow_mcmc", "loghr_summary: sampling", 1.0, signal.SIGINT),
    (
        "binomial-sampling",
        SUMMARY_VAGUE,
        "slow_mcmc",
        "beta_binomial: sampling",
        1.0,
        signal.SIGINT,
    ),
    # the PWE families sample side by side in threads: both stop, the run exits 130
    ("pwe-sampling", [], None, "PWE on reconstructed data", 1.0, signal.SIGINT),
    ("figures", SUMMARY_VAGUE, None, "drawing", 0.3, signal.SIGINT),
    ("report", SUMMARY_VAGUE, None, "writing the report", 0.0, signal.SIGTERM),
]


def _files(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "plan", "stage", "delay", "sig"), [s[1:] for s in STAGES], ids=[s[0] for s in STAGES]
)
def test_interrupt_at_each_stage(tmp_path, args, plan, stage, delay, sig):
    out = tmp_path / "results"
    out.mkdir()
    (out / MARKER).write_text(marker_text())
    (out / "summary.csv").write_text("previous\n")
    before = _files(out)
    if plan:
        (tmp_path / "plan.toml").write_text(PLANS[plan])
        args = [*args, "--plan", str(tmp_path / "plan.toml")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bayes_btc", "fit", "--quick", *args, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 600
    while not any(stage in ln for ln in lines):
        assert proc.poll() is None, f"finished before {stage!r}: {lines}"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(delay)
    proc.send_signal(sig)
    t0 = time.monotonic()
    proc.wait(timeout=120)
    stopped_in = time.monotonic() - t0
    reader.join(timeout=10)
    assert proc.returncode == 130, lines
    assert stopped_in < 30, stopped_in
    said = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("[bayes-btc]")]
    assert said == [f"interrupted: {out} left as it was"], lines
    assert _files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["results", *(["plan.toml"] if plan else [])]
    )
