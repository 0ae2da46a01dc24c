"""Operating-characteristics benchmark: simulated PWE trials per second with 1 and 2 dask
workers (after each worker's one compile), and the cost of one simulated trial against one
full PWE fit (compile + sample with the plan's sampler settings).

    python benchmarks/bench_oc.py [--sims 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bayes_btc.analysis.oc import survival_scenarios
from bayes_btc.decisions.rules import endpoint_rules
from bayes_btc.inference.sampling import compile_model, sample_compiled
from bayes_btc.inputs.plan import load_plan
from bayes_btc.inputs.trial import load_trial
from bayes_btc.models.pwe import PWEData, PWEPriors, build_pwe_model
from bayes_btc.models.pwe_data import PWETable
from bayes_btc.priors.named import loghr_priors
from bayes_btc.simulation.pwe_sim import compiled, sample_trial
from bayes_btc.simulation.scaleout import Checkpoint, chunk_tasks, run_tasks
from bayes_btc.simulation.survival_sim import simulate_patients, sufficient_stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=60)
    args = ap.parse_args()
    from dask.distributed import Client, LocalCluster

    spec, _ = load_trial()
    plan, _ = load_plan()
    surv = list(spec.survival)[:1]
    rules = endpoint_rules(plan, {e: "survival" for e in surv})
    scen = [s for s in survival_scenarios(spec, plan, surv, rules) if s[1].hr == plan.margins.hr]
    _, truth, model, cuts, margin = scen[0]
    conduct = plan.operating_characteristics.survival.model_copy(update={"chunk": 10})
    tasks = chunk_tasks([(truth, model, cuts, margin)], conduct, args.sims, seed=1)
    print(
        f"{surv[0]}: {len(model.priors)} priors batched, {model.n_intervals} intervals, "
        f"{truth.n_t}+{truth.n_c} patients, tune {conduct.tune}, draws {conduct.draws}"
    )
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            t0 = time.perf_counter()
            comp = client.run(lambda m=model: compiled(m)[1])
            t1 = time.perf_counter()
            with tempfile.TemporaryDirectory() as d:
                cp = Checkpoint(Path(d) / "partial", tasks, resume=False)
                run_tasks(tasks, cp, client=client)
            t2 = time.perf_counter()
        per = ", ".join(f"{v:.1f}" for v in comp.values())
        print(
            f"{workers} worker(s): compile {per} s per worker ({t1 - t0:.1f} s wall); "
            f"{args.sims} trials in {t2 - t1:.1f} s = {args.sims / (t2 - t1):.2f} trials/s"
        )
    # one simulated trial in this process vs one full fit of the PWE PH model
    _, t_compile = compiled(model)
    rng = np.random.default_rng(0)
    arrays = [
        sufficient_stats(*simulate_patients(truth, conduct, rng), np.asarray(cuts))
        for _ in range(20)
    ]
    t0 = time.perf_counter()
    for i, (ev, ex) in enumerate(arrays):
        sample_trial(model, ev, ex, margin, i, conduct.tune, conduct.draws)
    one = (time.perf_counter() - t0) / len(arrays)
    ev, ex = arrays[0]
    edges = np.concatenate([[0.0], cuts, [ex.max() + 1]])
    table = PWETable(np.asarray(cuts), float(edges[-1]), ev.astype(np.int64), ex)
    full = build_pwe_model(
        PWEData([surv[0]], [table]),
        loghr_priors(plan, with_baseline=False),
        "ph",
        PWEPriors(
            plan.pwe.baseline_log_hazard_mean,
            plan.pwe.baseline_log_hazard_sd,
            plan.pwe.smoothing_sd,
        ),
    )
    t0 = time.perf_counter()
    cm = compile_model(full, "pwe_ph")
    t1 = time.perf_counter()
    sample_compiled(cm, plan.sampler)
    t2 = time.perf_counter()
    print(
        f"one simulated trial (1 chain, {conduct.tune}+{conduct.draws}): {one:.3f} s "
        f"(after a {t_compile:.1f} s compile once per worker)"
    )
    print(
        f"one full PWE PH fit ({plan.sampler.chains} chains x {plan.sampler.tune}+"
        f"{plan.sampler.draws}): compile {t1 - t0:.1f} s + sample {t2 - t1:.1f} s"
    )


if __name__ == "__main__":
    main()
