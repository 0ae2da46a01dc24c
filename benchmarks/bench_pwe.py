"""Benchmark: the piecewise-exponential (PWE) fit must not grow with the number of patients.

    python benchmarks/bench_pwe.py [--sizes 67 1000 100000] [--chains 4] [--cores 2]
                                   [--tune 1000] [--draws 2000] [--repeats 3] [--seed N]

What is measured, per trial size (default 67, 1,000 and 100,000 simulated patients):

* `pwe_table` (patient rows -> events and exposure per arm x interval), alone: it is O(n);
* the nutpie compile of the PWE PH model, once per size (nutpie compiles per model);
* the sampling, `--repeats` times on that one compiled model (median reported);
* for the largest size, one more sampling-only re-run of its compiled model, after the others.

Each size is compiled once with `bayes_btc.fit.compile_model` (its `compile_s`) and every run
samples that compiled model with `sample_compiled` (its `sampling_seconds`). An untimed warm-up
fit comes first, so that one-off costs (imports, JIT start-up) do not land on the smallest size.

The data: two arms 1:1, event times piecewise exponential with known hazards (control 0.09 per
month up to 12 months, 0.07 after; treatment HR 0.8), uniform administrative censoring 12-36
months; fixed seeds. The model: PH variant, one endpoint, priors vague N(0, 10), skeptical
N(log 1.3, 0.16), enthusiastic N(0, 0.16) on the log-HR. The SAME explicit cut points are used
at every size (all below each size's end of follow-up, checked with `validate_cuts`), so the
model is identical in shape: the likelihood works on events and exposure per arm x interval
(sufficient statistics), and only the numbers in those cells change with the patient count.
Prints the figures and the ratios to the smallest size (target: <= 1.2x at 100,000).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np
import nutpie
import pymc as pm

from bayes_btc.inference import sampling as fit
from bayes_btc.inputs.plan import Sampler
from bayes_btc.models.pwe import MODEL_NAMES, PWEData, build_pwe_model
from bayes_btc.models.pwe_data import PWETable, pwe_table, validate_cuts

CUTS = [2.0, 4.0, 6.0, 9.0, 12.0, 18.0, 24.0]  # months, the same at every size
HAZARD_BREAKS = [0.0, 12.0]  # control hazard changes at 12 months
CONTROL_HAZARDS = [0.09, 0.07]  # per month on [0, 12), [12, inf)
HR = 0.8
CENSOR = (12.0, 36.0)  # uniform administrative censoring, months
PRIORS = {"vague": (0.0, 10.0), "skeptical": (math.log(1.3), 0.16), "enthusiastic": (0.0, 0.16)}
FAMILY = MODEL_NAMES["ph"]


def simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time, event, arm) of n patients; arm 0 treatment, 1 control, allocated 1:1."""
    rng = np.random.default_rng([seed, n])
    arm = rng.permutation(np.arange(n) % 2)
    scale = np.where(arm == 0, HR, 1.0)
    # invert the piecewise-linear cumulative hazard at a unit exponential draw
    target = rng.exponential(size=n) / scale
    breaks, rates = np.asarray(HAZARD_BREAKS), np.asarray(CONTROL_HAZARDS)
    cum_at_break = np.concatenate([[0.0], np.cumsum(np.diff(breaks) * rates[:-1])])
    piece = np.searchsorted(cum_at_break, target, side="right") - 1
    t_event = breaks[piece] + (target - cum_at_break[piece]) / rates[piece]
    t_censor = rng.uniform(*CENSOR, size=n)
    time_ = np.minimum(t_event, t_censor)
    event = (t_event <= t_censor).astype(np.int64)
    return time_, event, arm


def time_pwe_table(
    time_: np.ndarray, event: np.ndarray, arm: np.ndarray, repeats: int = 7
) -> tuple[PWETable, float]:
    """The table and the median wall time of `pwe_table` (seconds) over `repeats` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        table = pwe_table(time_, event, arm, np.asarray(CUTS))
        times.append(time.perf_counter() - t0)
    return table, statistics.median(times)


def sample(cm: fit.CompiledModel, sampler: Sampler) -> tuple[float, float, float]:
    """One sampling run: its seconds, the posterior mean HR under the vague prior and the mean
    leapfrog steps per draw (gradient evaluations)."""
    tree = fit.sample_compiled(cm, sampler)
    hr = tree["posterior"]["hr"].sel(prior="vague").mean()
    return fit.fit_times(tree).sample_s, float(hr), float(tree["sample_stats"]["n_steps"].mean())


@dataclass
class SizeResult:
    n: int
    table: PWETable
    table_s: float
    cells: int
    free: int
    cm: fit.CompiledModel
    sample_runs: list[float]
    hr: float
    steps: float

    @property
    def compile_s(self) -> float:
        return self.cm.compile_s

    @property
    def sample_s(self) -> float:
        return statistics.median(self.sample_runs)

    @property
    def total_s(self) -> float:
        return self.compile_s + self.sample_s


def run_size(n: int, sampler: Sampler, repeats: int, seed: int) -> SizeResult:
    time_, event, arm = simulate(n, seed)
    validate_cuts(CUTS, float(time_.max()), where=f"cut points at n={n}")
    table, table_s = time_pwe_table(time_, event, arm)
    cells = int((table.exposure > 0).sum())
    if cells != 2 * table.n_intervals:
        raise SystemExit(f"n={n}: {cells} cells with exposure, expected {2 * table.n_intervals}")
    model = build_pwe_model(PWEData(["os"], [table]), PRIORS, "ph")
    free = sum(v.size for v in model.initial_point().values())
    cm = fit.compile_model(model, FAMILY)
    first_s, hr, steps = sample(cm, sampler)
    runs = [first_s] + [sample(cm, sampler)[0] for _ in range(repeats - 1)]
    return SizeResult(n, table, table_s, cells, free, cm, runs, hr, steps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[67, 1000, 100_000],
        help="patients per simulated trial; ratios are to the first",
    )
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3, help="sampling runs per size (median)")
    ap.add_argument("--seed", type=int, default=20180167, help="data and sampler seed")
    args = ap.parse_args()
    sampler = Sampler(
        chains=args.chains, cores=args.cores, tune=args.tune, draws=args.draws, seed=args.seed
    )

    print(
        f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; "
        f"nutpie {nutpie.__version__}; pymc {pm.__version__}"
    )
    print(
        f"sampler: {sampler.chains} chains on {sampler.cores} cores, {sampler.tune} tune + "
        f"{sampler.draws} draws, seed {sampler.seed}\n"
        f"         one compile per size, sampling run {args.repeats}x per size (median)"
    )
    print(
        f"data:    2 arms 1:1; control hazard {CONTROL_HAZARDS[0]}/month to "
        f"{HAZARD_BREAKS[1]:g} months, {CONTROL_HAZARDS[1]} after; HR {HR};\n"
        f"         uniform censoring {CENSOR[0]:g}-{CENSOR[1]:g} months"
    )
    print(
        f"model:   PWE PH, 1 endpoint, priors {', '.join(PRIORS)};\n"
        f"         the SAME cut points at every size, {[int(c) for c in CUTS]} months -> "
        f"{len(CUTS) + 1} intervals"
    )

    warm = Sampler(chains=sampler.chains, cores=sampler.cores, tune=50, draws=50, seed=1)
    t, e, a = simulate(50, args.seed + 1)
    warm_table = pwe_table(t, e, a, np.asarray(CUTS))
    fit.sample_model(build_pwe_model(PWEData(["os"], [warm_table]), PRIORS, "ph"), warm, FAMILY)
    print("\n(untimed warm-up fit done)")

    results = []
    for n in args.sizes:
        results.append(run_size(n, sampler, args.repeats, args.seed))
        print(f"  fitted n={n:,}", flush=True)

    print("\nthe data grew, the model did not (T treatment, C control; summed over intervals):")
    print(
        f"{'patients':>9}  {'events T / C':>15}  {'exposure T / C, months':>23}  "
        f"{'fu end':>6}  {'cells':>5}  {'params':>6}  {'pwe_table':>10}"
    )
    for r in results:
        ev, ex = r.table.events.sum(axis=1), r.table.exposure.sum(axis=1)
        print(
            f"{r.n:>9,}  {f'{ev[0]:,} / {ev[1]:,}':>15}  "
            f"{f'{ex[0]:,.0f} / {ex[1]:,.0f}':>23}  {r.table.end:>6.1f}  {r.cells:>5}  "
            f"{r.free:>6}  {r.table_s * 1e3:>7.2f} ms"
        )
    print(
        "(cells: arm x interval Poisson terms of the likelihood, per prior; params: free\n"
        " parameters; pwe_table: reshaping time, median of 7 calls, O(n), not in the fit times)"
    )

    ref = results[0]
    print(f"\nfit time, seconds; ratios (x) to the {ref.n:,}-patient fit:")
    print(
        f"{'patients':>9}  {'compile':>7}  {'sampling runs':>18}  {'median':>6}  {'total':>6}  "
        f"{'total x':>7}  {'sampl. x':>8}  {'steps':>5}  {'HR':>5}"
    )
    for r in results:
        runs = " / ".join(f"{s:.2f}" for s in r.sample_runs)
        print(
            f"{r.n:>9,}  {r.compile_s:>7.2f}  {runs:>18}  {r.sample_s:>6.2f}  {r.total_s:>6.2f}  "
            f"{r.total_s / ref.total_s:>6.2f}x  {r.sample_s / ref.sample_s:>7.2f}x  "
            f"{r.steps:>5.1f}  {r.hr:>5.3f}"
        )
    print(
        "(total: compile + median sampling; the runs share one seed, so they differ only by\n"
        " timing noise; steps: mean leapfrog steps (gradient evaluations) per draw, set by the\n"
        f" posterior's shape, not by n; HR: posterior mean under the vague prior, true {HR})"
    )

    big = results[-1]
    rerun_s = sample(big.cm, sampler)[0]
    print(
        f"\n{big.n:,} patients, sampling-only re-run of the compiled model after all sizes: "
        f"{rerun_s:.2f} s\n"
        f"  = {rerun_s / big.sample_s:.2f}x its own median, "
        f"{rerun_s / ref.sample_s:.2f}x the {ref.n:,}-patient sampling median"
    )
    ratio = big.total_s / ref.total_s
    verdict = "met" if ratio <= 1.2 else "NOT met"
    print(
        f"target: total fit at {big.n:,} patients <= 1.2x the {ref.n:,}-patient total: "
        f"{ratio:.2f}x ({verdict});\n"
        f"  sampling alone {big.sample_s / ref.sample_s:.2f}x"
    )


if __name__ == "__main__":
    main()
