"""Benchmark: the historical MAP priors with exact draws by quadrature against NUTS.

    python benchmarks/bench_map_sampler.py [--plan models/default.toml]

Derives the MAP priors of the plan's historical data twice, `[historical] sampler = "exact"`
and `"nuts"` (same chains x draws), and prints for each the time of the meta-analysis
(compile + sampling) and of the whole derivation (with the mixture fits and the ESS Monte
Carlo error), then each prior's ESS side by side with the difference in units of the two
runs' combined MCSE (|z| of a few at most when they agree).
"""

from __future__ import annotations

import argparse
import math
import time

from bayes_btc.inputs.historical import load_historical
from bayes_btc.inputs.plan import load_plan
from bayes_btc.priors.map_prior import derive_map_priors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", default=None, help="plan TOML (default: the bundled plan)")
    args = ap.parse_args()
    plan, _ = load_plan(args.plan)
    data, _ = load_historical(plan.historical.data)
    endpoints = list(data.endpoints)
    tables = {}
    for how in ("exact", "nuts"):
        settings = plan.historical.model_copy(update={"sampler": how})
        t0 = time.perf_counter()
        hp = derive_map_priors(data, endpoints, settings, plan.sampler)
        total = time.perf_counter() - t0
        if hp is None:
            raise SystemExit("the plan's historical data have no series to meta-analyse")
        a = hp.tree["posterior"].attrs
        print(
            f"{how:>5}: meta-analysis {a['compile_seconds'] + a['sampling_seconds']:.1f} s "
            f"(compile {a['compile_seconds']:.1f} s, sampling {a['sampling_seconds']:.1f} s); "
            f"derive_map_priors {total:.1f} s"
        )
        tables[how] = hp.table.set_index(["endpoint", "prior"])
    e, n = tables["exact"], tables["nuts"]
    print(f"{'endpoint':<10}{'prior':<20}{'ESS exact':>12}{'ESS NUTS':>12}{'z':>7}")
    for key in e.index:
        z = (e.at[key, "ess"] - n.at[key, "ess"]) / math.hypot(
            e.at[key, "ess_mcse"], n.at[key, "ess_mcse"]
        )
        ess = f"{e.at[key, 'ess']:>12.2f}{n.at[key, 'ess']:>12.2f}"
        print(f"{key[0]:<10}{key[1]:<20}{ess}{z:>7.2f}")


if __name__ == "__main__":
    main()
