"""Benchmark: re-sampling one PWE model on new data of the same shape (no recompile).

    python benchmarks/bench_resample.py [--sets 10] [--variant ph] [--endpoint PFS]
                                        [--chains 4] [--cores 2] [--tune 1000] [--draws 1000]
                                        [--engine hmc|nuts|both]

`hmc` (the default engine of `bayes-btc fit`): the closed-form log posterior of each new set is
sampled by HMC (`inference/pwe_sampling.sample_hmc`); nothing is compiled but the numba
gradient, once per machine. `nuts`:

The PWE model declares every data-dependent array (events, exposure, interval starts and
widths, event weights) as `pm.Data`, so nutpie's `with_data` swaps in another data set of the
same padded shape. This script compiles the model once on reconstructed set 1 of one
endpoint (vague prior), then for each further set swaps its sufficient statistics in and
samples; it prints the compile time once and each re-sample's time, and checks that no
compile happened in between (the compiled object's identity of its compiled function).
Target: under 1 s per re-sampled fit on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import nutpie

from bayes_btc.analysis.run import pwe_tables
from bayes_btc.inference.pwe_sampling import WARMUP, sample_hmc
from bayes_btc.inputs.datakey import DataKey
from bayes_btc.inputs.plan import load_plan
from bayes_btc.inputs.trial import load_trial
from bayes_btc.models.pwe import PWEData, PWEPriors, build_pwe_model
from bayes_btc.priors.named import loghr_priors
from bayes_btc.reconstruction.bundled import load as load_reconstructed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=10)
    ap.add_argument("--variant", choices=["ph", "nonph"], default="ph")
    ap.add_argument("--endpoint", default="PFS")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--engine", choices=["hmc", "nuts", "both"], default="both")
    args = ap.parse_args()

    spec, _ = load_trial()
    plan, _ = load_plan()
    sets = load_reconstructed(spec)[args.endpoint][: args.sets]
    keys = {DataKey(args.endpoint, k + 1): d for k, d in enumerate(sets)}
    tables = list(pwe_tables(keys, plan).values())  # each set with its own cut points
    n_k = max(t.n_intervals for t in tables)
    pad = [PWEData([args.endpoint], [t]) for t in tables]
    prior = {"vague": loghr_priors(plan, with_baseline=False)["vague"]}
    s = plan.pwe
    pp = PWEPriors(
        s.baseline_log_hazard_mean, s.baseline_log_hazard_sd, s.smoothing_sd, s.hr_smoothing_sd
    )

    def arrays(d: PWEData) -> dict[str, np.ndarray]:
        """One set's data padded to n_k intervals (zero exposure, zero width in the padding)."""
        out = {}
        for name in ("events", "exposure"):
            out[name] = np.zeros((1, 2, n_k))
            out[name][..., : d.n_intervals] = d.padded(name)
        start, width = d.interval_bounds()
        out["interval_start"] = np.pad(start, ((0, 0), (0, n_k - d.n_intervals)), mode="edge")
        out["interval_width"] = np.pad(width, ((0, 0), (0, n_k - d.n_intervals)))
        out["event_weights"] = np.pad(d.event_weights(), ((0, 0), (0, n_k - d.n_intervals)))
        return out

    print(f"model: PWE {args.variant}, {args.endpoint}, vague prior, {n_k} intervals (padded)")
    if args.engine in ("hmc", "both"):
        sampler = plan.sampler.model_copy(
            update={"chains": args.chains, "tune": args.tune, "draws": args.draws, "pwe": "hmc"}
        )
        times = []
        for i, d in enumerate(pad):
            t1 = time.perf_counter()
            post, _, _ = sample_hmc(d, prior, args.variant, pp, None, sampler, i)
            times.append(time.perf_counter() - t1)
            hr = float(np.median(post["hr"].values))
            print(
                f"HMC set {i + 1:2d}: sampled in {times[-1]:.2f} s (posterior median HR {hr:.3f})"
            )
        print(
            f"HMC per fit: median {statistics.median(times):.2f} s, max {max(times):.2f} s over "
            f"{len(times)} sets ({args.chains} chains x ({min(WARMUP, args.tune)} warm-up + "
            f"{args.draws} draws)); no model compile"
        )
        print(f"target < 1 s per fit (HMC): {'met' if statistics.median(times) < 1 else 'NOT met'}")
    if args.engine == "hmc":
        return
    widest = max(pad, key=lambda d: d.n_intervals)
    t0 = time.perf_counter()
    model = build_pwe_model(widest, prior, args.variant, pp)
    compiled = nutpie.compile_pymc_model(model)
    compile_s = time.perf_counter() - t0
    print(f"compile once: {compile_s:.2f} s")
    used = {v.name for v in compiled.shared_var_keys}  # the data this graph reads
    kw = {"chains": args.chains, "cores": args.cores, "tune": args.tune, "draws": args.draws}
    times, hrs = [], []
    for i, d in enumerate(pad):
        t1 = time.perf_counter()
        swapped = compiled.with_data(**{k: v for k, v in arrays(d).items() if k in used})
        trace = nutpie.sample(swapped, seed=i, progress_bar=False, **kw)
        dt = time.perf_counter() - t1
        times.append(dt)
        hrs.append(float(np.median(trace.posterior["hr"].values)))
        print(f"NUTS set {i + 1:2d}: re-sampled in {dt:.2f} s (posterior median HR {hrs[-1]:.3f})")
    print(
        f"NUTS re-sample per fit: median {statistics.median(times):.2f} s, max {max(times):.2f} s "
        f"over {len(times)} sets ({args.chains} chains x ({args.tune} tune + {args.draws} draws)"
        f" on {args.cores} cores); compile {compile_s:.2f} s paid once"
    )
    print(f"target < 1 s per fit (NUTS): {'met' if statistics.median(times) < 1 else 'NOT met'}")
    if len(set(np.round(hrs, 3))) < 2 and len(hrs) > 1:
        print("WARNING: every set gave the same posterior: the data swap did not take effect")


if __name__ == "__main__":
    main()
