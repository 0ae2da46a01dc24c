"""Benchmark: the default `bayes-btc fit` (cold and warm compile caches) against a naive loop
that compiles one PyMC model per endpoint x reading x prior. Prints the figures and ratios,
and the time of the tipping-point grid and of the historical (MAP) prior derivation.

    python benchmarks/bench_fit.py [--draws N]

Cold: fresh, empty PyTensor and numba cache folders. Warm: the same folders again. Both are
end-to-end CLI runs of `fit --summary-only` in a subprocess (imports, audit, fits, summaries,
files); the full default run (with the PWE models on reconstructed data) is timed too. The
naive loop and the batched fit are also timed in one process with the same sampler settings
(model work only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bayes_btc.analysis.run import run_analysis
from bayes_btc.decisions.tipping import tipping_table
from bayes_btc.inference.sampling import sample_model
from bayes_btc.inputs.audit import audit_trial
from bayes_btc.inputs.historical import load_historical
from bayes_btc.inputs.plan import Plan, load_plan
from bayes_btc.inputs.trial import load_trial
from bayes_btc.models.beta_binomial import BinaryData, RatePriors, build_beta_binomial_model
from bayes_btc.models.loghr_summary import LogHRData, build_loghr_model
from bayes_btc.priors.map_prior import derive_map_priors


def conjugate_plan() -> Plan:
    """The default plan without the historical priors (which need the MAP step first)."""
    plan, _ = load_plan()
    names = [k for k, v in plan.priors.log_hr.items() if v.control_median is None]
    names += [k for k, v in plan.priors.rate.items() if not isinstance(v.control, str)]
    return plan.with_priors(names)


def cli_run(env: dict[str, str], out: Path, *extra: str) -> float:
    """Wall time of one `bayes-btc fit` in a fresh process."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bayes_btc", "fit", "--out", str(out), *extra],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def naive_loop(draws: int | None) -> tuple[float, int]:
    """One compiled model per endpoint x prior (x HR reading), each with a single cell."""
    spec, _ = load_trial()
    plan = conjugate_plan()
    sampler = plan.sampler if draws is None else plan.sampler.model_copy(update={"draws": draws})
    counts = audit_trial(spec).counts
    t0, n = time.perf_counter(), 0
    for e in spec.survival:
        for name, prior in plan.priors.log_hr.items():
            data = LogHRData.from_trial(spec, [e])
            sample_model(build_loghr_model(data, {name: prior.mixture}), sampler, f"{e}-{name}")
            n += 1  # each naive model still carries both readings, as the batched one does
    for e in counts:
        for name, prior in plan.priors.rate.items():
            data = BinaryData.from_counts({e: counts[e]}, spec.arm_order)
            treatment, control = prior.arm_priors()
            assert not isinstance(control, str)
            cells = {(e, 0, name): treatment, (e, 1, name): control}
            model = build_beta_binomial_model(data, RatePriors([name], cells))
            sample_model(model, sampler, f"{e}-{name}")
            n += 1
    return time.perf_counter() - t0, n


def batched(draws: int | None) -> float:
    """The summary-level model families as `bayes-btc fit --summary-only` fits them."""
    spec, _ = load_trial()
    plan = conjugate_plan()
    if draws is not None:
        plan = plan.model_copy(update={"sampler": plan.sampler.model_copy(update={"draws": draws})})
    t0 = time.perf_counter()
    run_analysis(spec, plan)
    return time.perf_counter() - t0


def tipping_and_map() -> tuple[float, int, float]:
    """Seconds for the closed-form tipping-point grid (and its number of prior points), and
    for the MAP priors (meta-analysis compile + sampling + mixture fits)."""
    spec, _ = load_trial()
    plan, _ = load_plan()
    counts = audit_trial(spec).counts
    t0 = time.perf_counter()
    grid = tipping_table(spec, plan, counts)
    t_grid = time.perf_counter() - t0
    data, _ = load_historical()
    t0 = time.perf_counter()
    derive_map_priors(data, ["ORR", "PFS", "OS"], plan.historical, plan.sampler)
    return t_grid, len(grid), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=None, help="override the plan's draws")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTENSOR_FLAGS": f"compiledir={tmp}/pytensor",
            "NUMBA_CACHE_DIR": f"{tmp}/numba",
        }
        cold = cli_run(env, Path(tmp) / "r1", "--summary-only")
        warm = cli_run(env, Path(tmp) / "r2", "--summary-only")
        full = cli_run(env, Path(tmp) / "r3")
    print("bayes-btc fit --summary-only (the published-summary models), end to end (CLI):")
    print(f"  cold caches {cold:6.1f} s   warm {warm:6.1f} s   (target: warm < 30 s)")
    print(f"bayes-btc fit (default: + PWE on 2 x 20 reconstructed data sets): {full:6.1f} s")
    t_batched = batched(args.draws)
    t_naive, n = naive_loop(args.draws)
    print(
        f"model fitting in one process (priors without the MAP step): batched (2 compiles) "
        f"{t_batched:6.1f} s   "
        f"naive loop ({n} compiles) {t_naive:6.1f} s"
    )
    print(f"ratio naive / batched: {t_naive / t_batched:.1f}x   (target >= 5x)")
    print(f"ratio naive / warm end-to-end fit: {t_naive / warm:.1f}x; warm fit target < 30 s")
    t_grid, n_grid, t_map = tipping_and_map()
    print(
        f"tipping-point grid (closed forms): {n_grid} prior points in {t_grid:.2f} s "
        f"({1e3 * t_grid / n_grid:.3f} ms per point)"
    )
    print(f"historical MAP priors (meta-analysis + mixture fits): {t_map:.1f} s")


if __name__ == "__main__":
    main()
