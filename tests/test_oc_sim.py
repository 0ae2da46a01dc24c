"""Simulated PWE operating characteristics: the chunk fit against quadrature (one interval,
a historical control-median prior), a near-flat median prior against the vague prior, the
vague prior's type I error at the HR margin, and the dask scale-out (any number of workers,
interrupted and resumed: the same oc.csv)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bayes_btc.inputs.oc_settings import SurvivalScenarios
from bayes_btc.priors.mixtures import NormalMixture
from bayes_btc.simulation.pwe_sim import PWESimModel, fit_trials
from bayes_btc.simulation.scaleout import ChunkTask, chunk_tasks, run_chunk, simulate_chunk
from bayes_btc.simulation.survival_sim import (
    SurvivalTruth,
    design_cuts,
    simulate_patients,
    sufficient_stats,
)

ROOT = Path(__file__).parents[1]
TINY_PLAN = """
endpoints = ["PFS"]
[priors.log_hr.vague]
mean = 0.0
sd = 10.0
[priors.rate.vague]
a = 1.0
b = 1.0
[operating_characteristics]
sims = 20
calibration_sims = 1
calibration_sets = 2
[operating_characteristics.survival]
hr = [1.3]
pwe_models = ["ph"]
tune = 100
draws = 200
chunk = 1
"""


def test_simulated_patients_match_the_truth():
    """Exposure and events of many simulated patients give the true hazards (closed form:
    events / exposure estimates the constant hazard log 2 / median)."""
    conduct = SurvivalScenarios(accrual_months=12, follow_up_months=12, dropout_per_year=0.1)
    truth = SurvivalTruth(8.0, 1.5, None, 20000, 20000)
    time_, event, arm = simulate_patients(truth, conduct, np.random.default_rng(3))
    events, exposure = sufficient_stats(time_, event, arm, np.array([3.0, 9.0]))
    rate = events.sum(axis=1) / exposure.sum(axis=1)
    lam = math.log(2) / 8.0
    assert abs(rate[1] / lam - 1) < 0.03
    assert abs(rate[0] / (1.5 * lam) - 1) < 0.03
    assert exposure.sum() == pytest.approx(time_.sum())


def quadrature_p_ni(
    events: np.ndarray, exposure: np.ndarray, median: NormalMixture, margin: float
) -> float:
    """P(log-HR < log margin) of the one-interval PH model by quadrature on a 2-d grid: a =
    log hazard of the control arm ~ N(-2.5, 2.5), b = log-HR ~ N(0, 10), Poisson events with
    exposure offsets, and the median prior on log(log 2 / exp(a)) (the control median)."""
    a = np.linspace(-7.0, 1.0, 1601)[:, None]
    b = np.linspace(-4.0, 4.0, 1601)[None, :]
    (dt,), (dc,) = events
    (et,), (ec,) = exposure
    lp = dt * (a + b) - et * np.exp(a + b) + dc * a - ec * np.exp(a)
    lp = lp - 0.5 * ((a + 2.5) / 2.5) ** 2 - 0.5 * (b / 10.0) ** 2
    log_median = np.log(np.log(2.0)) - a
    lp = lp + np.log(
        sum(
            w * np.exp(-0.5 * ((log_median - m) / s) ** 2) / s
            for w, m, s in zip(median.weights, median.means, median.sds, strict=True)
        )
    )
    p = np.exp(lp - lp.max())
    return float(p[:, b[0] < math.log(margin)].sum() / p.sum())


def test_chunk_fit_with_a_median_prior_matches_quadrature():
    """One interval (no cuts): the chunk fit's P(HR < 1.3) of several trials under a
    two-component historical control-median prior equals 2-d quadrature of the same
    posterior, within 4 Monte Carlo SEs (4 chains x 2000 draws)."""
    median = NormalMixture((0.8, 0.2), (math.log(6.0), math.log(6.0)), (0.15, 1.0))
    model = PWESimModel(
        (("historical", NormalMixture.single(0.0, 10.0)),),
        1,
        -2.5,
        2.5,
        0.3,
        control_median=(median,),
    )
    events = np.array([[[9.0], [12.0]], [[14.0], [8.0]], [[5.0], [6.0]], [[11.0], [11.0]]])
    exposure = np.array([[[90.0], [70.0]], [[80.0], [95.0]], [[60.0], [40.0]], [[100.0], [60.0]]])
    got = fit_trials(model, events, exposure, np.array([]), 1.3, 5, 500, 2000, chains=4)[:, 0]
    want = np.array(
        [quadrature_p_ni(ev, ex, median, 1.3) for ev, ex in zip(events, exposure, strict=True)]
    )
    mcse = np.sqrt(want * (1 - want) / 2000)  # ESS >= 2000 of 8000 draws
    assert np.all(np.abs(got - want) <= 4 * mcse + 1e-3), (got, want)
    # the prior matters here: without it the answers differ by more than that
    flat = PWESimModel((("vague", NormalMixture.single(0.0, 10.0)),), 1, -2.5, 2.5, 0.3)
    other = fit_trials(flat, events, exposure, np.array([]), 1.3, 5, 500, 2000, chains=4)[:, 0]
    assert np.max(np.abs(other - want)) > 0.05


@pytest.mark.parametrize("variant", ["ph", "nonph"])
def test_near_flat_median_prior_gives_the_vague_answers(variant: str):
    """A historical control-median prior with a huge SD carries no information: per trial, its
    P(NI) equals the vague prior's within Monte Carlo error (paired over 60 simulated trials),
    and so do the decisions' frequencies."""
    cuts = design_cuts(7.5, 48, 4, 30)
    vague = NormalMixture.single(0.0, 10.0)
    model = PWESimModel(
        (("vague", vague), ("historical", vague)),
        len(cuts) + 1,
        -2.5,
        2.5,
        0.3,
        variant,
        0.15,
        (None, NormalMixture.single(math.log(6.0), 100.0)),
    )
    task = ChunkTask(
        0, 0, 60, SurvivalTruth(7.5, 1.3, None, 24, 24), SurvivalScenarios(), model,
        tuple(cuts), 1.3, 3,
    )  # fmt: skip
    events, exposure = simulate_chunk(task, np.random.default_rng(8))
    p = fit_trials(model, events, exposure, cuts, 1.3, 9, 300, 1000)
    diff = p[:, 1] - p[:, 0]
    assert abs(diff.mean()) <= 3 * diff.std(ddof=1) / math.sqrt(len(diff)) + 1e-3
    assert diff.std(ddof=1) < 0.07  # the MC error of two 1000-draw chains, nothing more
    assert abs((p[:, 1] >= 0.9).mean() - (p[:, 0] >= 0.9).mean()) <= 0.05


@pytest.mark.slow
def test_pwe_vague_type_one_error_within_three_mcse():
    """400 simulated trials at the margin (HR 1.3), PWE PH, vague prior: P(declare) within
    3 Monte Carlo SEs (at 0.025) of the nominal 0.025."""
    cuts = design_cuts(7.5, 48, 4, 30)
    model = PWESimModel(
        (("vague", NormalMixture.single(0.0, 10.0)),), len(cuts) + 1, -2.5, 2.5, 0.3
    )
    conduct = SurvivalScenarios(tune=300, draws=1000, chunk=100)
    truth = SurvivalTruth(7.5, 1.3, None, 24, 24)
    tasks = chunk_tasks([(truth, model, tuple(cuts), 1.3)], conduct, 400, seed=11)
    probs = np.concatenate([run_chunk(t) for t in tasks])[:, 0]
    p = float(np.mean(probs >= 0.975))
    mcse = math.sqrt(0.025 * 0.975 / len(probs))
    assert abs(p - 0.025) <= 3 * mcse


def _oc(out: Path, plan: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "bayes_btc", "oc", "--plan", str(plan), "--out", str(out)]
    return subprocess.Popen([*cmd, *extra], env=env, cwd=out.parent, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_workers_and_resume_give_identical_oc_csv(tmp_path: Path):
    """--workers 2, --workers 1, and --workers 1 stopped after some chunks then --resume:
    byte-identical oc.csv."""
    plan = tmp_path / "plan.toml"
    plan.write_text(TINY_PLAN)
    two, one, resumed = tmp_path / "two", tmp_path / "one", tmp_path / "resumed"
    assert _oc(two, plan, "--workers", "2").wait(timeout=600) == 0
    assert _oc(one, plan, "--workers", "1").wait(timeout=600) == 0
    for name in ("oc.csv", "reconstruction_calibration.csv"):
        assert (two / name).read_bytes() == (one / name).read_bytes()
    header = (two / "oc.csv").read_text().splitlines()[0]
    assert (
        header
        == "endpoint,model,prior,scenario,control_value,effect,method,n_trials,p_declare,mcse"
    )
    assert {p.name for p in (two / "figures").glob("*.png")} == {
        "oc_PFS_loghr_summary.png",
        "oc_PFS_pwe_ph.png",
    }
    assert "## Type I error" in (two / "oc.md").read_text()
    partial = tmp_path / "resumed.partial"
    proc = _oc(resumed, plan, "--workers", "1")
    deadline = time.monotonic() + 600
    while not list(partial.glob("s*.npy")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    done = len(list(partial.glob("s*.npy")))
    assert 1 <= done < 42 and not resumed.exists()
    assert _oc(resumed, plan, "--workers", "1", "--resume").wait(timeout=600) == 0
    for name in ("oc.csv", "reconstruction_calibration.csv"):
        assert (resumed / name).read_bytes() == (two / name).read_bytes()
    assert not partial.exists()


def test_bad_oc_section_is_one_line_exit_2(tmp_path: Path):
    """A wrong value in [operating_characteristics]: one line naming it, exit 2, no folder."""
    plan = tmp_path / "plan.toml"
    plan.write_text(TINY_PLAN.replace("sims = 20", "sims = -1"))
    proc = _oc(tmp_path / "out", plan)
    _, err = proc.communicate(timeout=120)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2
    assert len(lines) == 1 and "operating_characteristics" in lines[0] and "sims" in lines[0]
    assert not (tmp_path / "out").exists()
