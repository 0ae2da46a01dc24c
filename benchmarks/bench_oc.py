"""Operating-characteristics benchmark: simulated PWE trials per second with 1 and 2 dask
workers (each chunk of trials x priors fitted at once in numpy, nothing compiled), and the cost
of one simulated trial against one full PWE PH fit of one data set (the fit's sampler
settings, all of the plan's log-HR priors; historical ones with their MAP median prior).

    python benchmarks/bench_oc.py [--sims 200] [--variant ph]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bayes_btc.analysis.oc import survival_scenarios
from bayes_btc.analysis.oc_priors import oc_historical
from bayes_btc.decisions.rules import endpoint_rules
from bayes_btc.inference.pwe_sampling import WARMUP, sample_pwe
from bayes_btc.inputs.plan import load_plan
from bayes_btc.inputs.trial import load_trial
from bayes_btc.models.pwe import PWEData
from bayes_btc.models.pwe_data import PWETable
from bayes_btc.simulation.scaleout import (
    Checkpoint,
    chunk_tasks,
    run_chunk,
    run_tasks,
    simulate_chunk,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=200)
    ap.add_argument("--variant", choices=["ph", "nonph"], default="ph")
    args = ap.parse_args()
    from dask.distributed import Client, LocalCluster

    spec, _ = load_trial()
    plan, _ = load_plan()
    surv = list(spec.survival)[:1]
    kinds = {e: "survival" for e in surv}
    rules = endpoint_rules(plan, kinds)
    t0 = time.perf_counter()
    historical, _ = oc_historical(spec, plan, kinds, lambda _: None)
    print(f"MAP priors (once per run): {time.perf_counter() - t0:.1f} s")
    scen = [
        s
        for s in survival_scenarios(spec, plan, surv, rules, historical)
        if s[1].hr == plan.margins.hr and s[2].variant == args.variant
    ]
    _, truth, model, cuts, margin = scen[0]
    conduct = plan.operating_characteristics.survival
    tasks = chunk_tasks([(truth, model, cuts, margin)], conduct, args.sims, seed=1)
    print(
        f"{surv[0]} {model.model_name}: {len(model.priors)} priors per trial "
        f"({', '.join(model.names)}), {model.n_intervals} intervals, {truth.n_t}+{truth.n_c} "
        f"patients, tune {conduct.tune}, draws {conduct.draws}, chunks of {conduct.chunk}"
    )
    t0 = time.perf_counter()
    run_chunk(tasks[0])
    one_chunk = time.perf_counter() - t0
    per_trial = one_chunk / tasks[0].n
    print(
        f"in-process: one chunk of {tasks[0].n} trials in {one_chunk:.2f} s = "
        f"{per_trial:.3f} s per simulated trial ({tasks[0].n / one_chunk:.1f} trials/s)"
    )
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
            tempfile.TemporaryDirectory() as d,
        ):
            cp = Checkpoint(Path(d) / "partial", tasks, resume=False)
            t1 = time.perf_counter()
            run_tasks(tasks, cp, client=client)
            t2 = time.perf_counter()
        print(
            f"{workers} worker(s): {args.sims} trials in {t2 - t1:.1f} s = "
            f"{args.sims / (t2 - t1):.2f} trials/s"
        )
    # one full fit of one simulated trial's data, as `bayes-btc fit` samples the PWE models
    rng = np.random.default_rng(0)
    ev, ex = simulate_chunk(tasks[0], rng)
    table = PWETable(np.asarray(cuts), float(cuts[-1]) * 2, ev[0].astype(np.int64), ex[0])
    data = PWEData([surv[0]], [table])
    medians = {(surv[0], p): m for p, m in zip(model.names, model.control_median, strict=True)}
    t0 = time.perf_counter()
    sample_pwe(
        data, dict(model.priors), model.variant, model.pwe_priors, medians, plan.sampler, "bench"
    )
    full = time.perf_counter() - t0
    print(
        f"one full {model.model_name} fit ({plan.sampler.chains} chains x "
        f"{min(WARMUP, plan.sampler.tune)}+{plan.sampler.draws}, {len(model.priors)} priors): "
        f"{full:.2f} s = {full / per_trial:.0f} simulated trials"
    )


if __name__ == "__main__":
    main()
