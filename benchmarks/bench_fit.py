"""Benchmark: the full default `bayes-btc fit`, cold and warm, phase by phase, against a naive
per-cell loop.

    python benchmarks/bench_fit.py [--no-naive]

Cold: a fresh process with fresh, empty PyTensor and numba cache folders (a temporary
directory). Warm: another fresh process with the same, now filled, folders. Each is the whole
default fit (all endpoints, models, priors and the reconstructed data sets, figures and
report) run in a child process, which times its imports and the writing of figures and
report, and reads the run's own phase timer (`phase_*` in provenance.json). The parent prints
the wall time of each child and its phases.

The naive per-cell loop (one compiled model and one NUTS run per endpoint x model x prior x
data set) is estimated from one cell of each kind, timed here: one summary log-HR cell
(compile + NUTS with the plan's draws), one beta-binomial cell and one PWE cell on one
reconstructed set (compile + NUTS with the plan's per-set draws), times the number of cells
of each kind in the default fit. Running the loop itself would take hundreds of compiles
(hours), so it is not run; the estimate says which cells it counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MARK = "BENCH_JSON "


def child(out: str) -> None:
    """Run the default fit in this process and print its timings as one JSON line."""
    t0 = time.perf_counter()
    import bayes_btc.output.write as write
    from bayes_btc import cli

    t_imports = time.perf_counter() - t0
    spent: dict[str, float] = {}

    def timed(name: str, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t

        return wrapper

    write.write_figures = timed("figures", write.write_figures)
    write.write_report = timed("report", write.write_report)
    write.write_results = timed("write_all", write.write_results)
    cli.COMMAND.own_process = True  # as `bayes-btc fit`: this child is the command's process
    cli.app(["fit", "--out", out], standalone_mode=False)
    seconds = json.loads((Path(out) / "provenance.json").read_text())["seconds"]
    total = time.perf_counter() - t0
    print(MARK + json.dumps({"imports": t_imports, **spent, "run": seconds, "process": total}))


def run_child(env: dict[str, str], out: Path) -> tuple[float, dict]:
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, __file__, "--child", str(out)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    line = next(x for x in p.stdout.splitlines() if x.startswith(MARK))
    return wall, json.loads(line.removeprefix(MARK))


def phases(t: dict) -> list[tuple[str, float]]:
    """(label, seconds) in run order: imports, the run's phases, tables/NetCDF, figures, report."""
    run = t["run"]
    rows = [("imports", t["imports"])]
    for k, v in run.items():
        if k.startswith("phase_"):
            rows.append((k.removeprefix("phase_"), v))
    rest = t.get("write_all", 0.0) - t.get("figures", 0.0) - t.get("report", 0.0)
    rows += [("tables + NetCDF", rest), ("figures", t.get("figures", 0.0))]
    rows += [("report", t.get("report", 0.0))]
    other = t["process"] - sum(v for _, v in rows)
    rows.append(("other (inputs, staging)", other))
    return rows


def family_times(t: dict) -> list[str]:
    run = t["run"]
    fams = sorted({k.rsplit("_", 1)[0] for k in run if k.endswith("_compile")})
    return [
        f"{f}: compile {run[f + '_compile']:.1f} s, draws {run[f + '_sampling']:.1f} s"
        for f in fams
    ]


def naive_estimate() -> tuple[float, str]:
    """Seconds of a naive per-cell loop over the default fit's cells, from one cell of each."""
    from bayes_btc.analysis.run import pwe_tables
    from bayes_btc.inference.sampling import sample_model
    from bayes_btc.inputs.audit import audit_trial
    from bayes_btc.inputs.datakey import DataKey
    from bayes_btc.inputs.plan import load_plan
    from bayes_btc.inputs.trial import load_trial
    from bayes_btc.models.beta_binomial import BinaryData, RatePriors, build_beta_binomial_model
    from bayes_btc.models.loghr_summary import LogHRData, build_loghr_model
    from bayes_btc.models.pwe import PWEData, PWEPriors, build_pwe_model
    from bayes_btc.priors.mixtures import BetaMixture, NormalMixture
    from bayes_btc.reconstruction.bundled import load as load_reconstructed

    spec, _ = load_trial()
    plan, _ = load_plan()
    sampler = plan.sampler.model_copy(update={"conjugate": "mcmc"})
    e = next(iter(spec.survival))
    t0 = time.perf_counter()
    prior = {"vague": NormalMixture.single(0.0, 10.0)}
    sample_model(build_loghr_model(LogHRData.from_trial(spec, [e]), prior), sampler, "naive1")
    t_loghr = time.perf_counter() - t0
    counts = audit_trial(spec).counts
    b = next(iter(counts))
    flat = BetaMixture.single(1.0, 1.0)
    priors = RatePriors(["vague"], {(b, 0, "vague"): flat, (b, 1, "vague"): flat})
    t0 = time.perf_counter()
    data = BinaryData.from_counts({b: counts[b]}, spec.arm_order)
    sample_model(build_beta_binomial_model(data, priors), sampler, "naive2")
    t_beta = time.perf_counter() - t0
    sets = load_reconstructed(spec)
    table = pwe_tables({DataKey(e, 1): sets[e][0]}, plan)[DataKey(e, 1)]
    s = plan.pwe
    pp = PWEPriors(
        s.baseline_log_hazard_mean, s.baseline_log_hazard_sd, s.smoothing_sd, s.hr_smoothing_sd
    )
    per_set = sampler.model_copy(update={"draws": s.reconstructed_draws})
    t0 = time.perf_counter()
    sample_model(build_pwe_model(PWEData([e], [table]), prior, "ph", pp), per_set, "naive3")
    t_pwe = time.perf_counter() - t0
    n_surv, n_bin = len(spec.survival), len(counts)
    n_loghr = n_surv * 2 * 3  # endpoints x readings x non-historical log-HR priors
    n_beta = n_bin * 2 + 2  # endpoints x (vague, jeffreys) + ORR's two historical priors
    n_sets = len(sets[e])
    n_pwe = 2 * n_surv * len(plan.priors.log_hr) * n_sets  # variants x endpoints x priors x sets
    total = n_loghr * t_loghr + n_beta * t_beta + n_pwe * t_pwe
    how = (
        f"{n_loghr} log-HR cells x {t_loghr:.1f} s + {n_beta} beta-binomial cells x "
        f"{t_beta:.1f} s + {n_pwe} PWE cells x {t_pwe:.1f} s (one cell of each timed)"
    )
    return total, how


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-naive", action="store_true", help="skip the naive-loop estimate")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores; load average {load[0]:.1f} (1 min) at start")
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTENSOR_FLAGS": f"compiledir={tmp}/pytensor",
            "NUMBA_CACHE_DIR": f"{tmp}/numba",
        }
        cold_wall, cold = run_child(env, Path(tmp) / "cold")
        warm_wall, warm = run_child(env, Path(tmp) / "warm")
    print("full default `bayes-btc fit` (every endpoint, model, prior, reconstructed set):")
    print(f"  cold caches: {cold_wall:6.1f} s wall   (target <= 40 s quiet)")
    print(f"  warm caches: {warm_wall:6.1f} s wall   (target <= 20 s quiet)")
    print(f"  {'phase':<26}{'cold s':>8}{'warm s':>8}")
    for (name, c), (_, w) in zip(phases(cold), phases(warm), strict=True):
        print(f"  {name:<26}{c:8.1f}{w:8.1f}")
    print("  model families (warm): " + "; ".join(family_times(warm)))
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")
    if not args.no_naive:
        naive, how = naive_estimate()
        print(f"naive per-cell loop (estimated): {naive:.0f} s = {how}")
        print(f"ratio naive / warm full fit: {naive / warm_wall:.1f}x")


if __name__ == "__main__":
    main()
