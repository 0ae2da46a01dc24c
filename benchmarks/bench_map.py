"""Benchmark: the historical (MAP prior) phase of a default fit, and where its time goes.

    python benchmarks/bench_map.py [--plan PLAN.toml] [--reference historical_priors.csv]
                                   [--save OUT.csv]

Runs `derive_map_priors` as `bayes-btc fit` does for the bundled trial (its control arm,
the plan's historical data with the analysed trial left out) and prints the phase's wall
time split into sampling (`map_meta`: compile + NUTS), mixture fits (EM, components by AIC,
with the convergence checks), the ESS jackknife (8 refits per endpoint, shared by the MAP
prior and its robust version) and the table (ESS by every method, fit quality). A version
without the split prints the total only, so the same script times an earlier version.

`--reference` compares the ESS, its MCSE and the mixtures with a historical_priors.csv of
another run or version: each ESS difference is also shown in units of the two runs'
combined MCSE, sqrt(mcse_1^2 + mcse_2^2).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from bayes_btc.analysis.run import borrowing_for, endpoint_kinds
from bayes_btc.inputs.historical import load_historical
from bayes_btc.inputs.plan import load_plan
from bayes_btc.inputs.study import Study
from bayes_btc.inputs.trial import load_trial
from bayes_btc.priors.borrowing import without_analysed_trial
from bayes_btc.priors.map_prior import derive_map_priors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", default=None, help="analysis plan (default: the bundled plan)")
    ap.add_argument("--reference", default=None, help="historical_priors.csv to compare with")
    ap.add_argument("--save", default=None, help="write this run's table here")
    args = ap.parse_args()

    spec, _ = load_trial()
    plan, _ = load_plan(args.plan)
    study = Study.from_trial(spec)
    endpoints = plan.select_endpoints(list(dict.fromkeys([*spec.survival, *spec.binary])))
    data, _ = load_historical(plan.historical.data)
    data, _ = without_analysed_trial(data, spec.trial.id)
    borrowed = borrowing_for(data, plan, spec, study, endpoint_kinds(spec, endpoints))

    start = time.perf_counter()
    hist = derive_map_priors(data, borrowed.endpoints, plan.historical, plan.sampler)
    total = time.perf_counter() - start
    if hist is None:
        print("no endpoint borrows from the historical data")
        return
    h = plan.historical
    print(f"MAP prior phase: {total:.2f} s ({h.chains} chains x {h.draws} draws)")
    for name, sec in getattr(hist, "seconds", {}).items():
        print(f"  {name:<10} {sec:6.2f} s")
    cols = ["endpoint", "prior", "ess", "ess_mcse", "mixture"]
    table = hist.table[cols]
    with pd.option_context("display.width", 200, "display.max_colwidth", 120):
        print(table.to_string(index=False))
    if args.save:
        hist.table.to_csv(args.save, index=False)
    if args.reference:
        ref = pd.read_csv(args.reference)[cols]
        both = table.merge(ref, on=["endpoint", "prior"], suffixes=("", "_ref"))
        both["ess_diff"] = both["ess"] - both["ess_ref"]
        both["in_mcse"] = both["ess_diff"] / np.hypot(both["ess_mcse"], both["ess_mcse_ref"])
        show = ["endpoint", "prior", "ess", "ess_ref", "ess_mcse", "ess_mcse_ref", "in_mcse"]
        print("\nagainst the reference:")
        print(both[show].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        with pd.option_context("display.max_colwidth", 120):
            print(both[["endpoint", "prior", "mixture_ref"]].to_string(index=False))


if __name__ == "__main__":
    main()
