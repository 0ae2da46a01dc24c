"""Benchmark: the summary and decisions phases of a fit, and the ESS estimators under them.

    python benchmarks/bench_summary.py [--fits FILE] [--quick] [--repeat N]

The analysis is run once (the default fit, or `--quick`) through the CLI, and the fits and
rules the summary and decision tables are computed from are pickled to FILE; later runs load
FILE and skip the fit. Then the benchmark prints the wall and CPU time of each table of the
two phases (`summary_table` of the fits and of the per-set fits, `noninferiority_table`,
`exact_check`, `diagnostics_table`, `decision_table`), best of N, and, on the per-set fits'
quantities (batches of 128, one thread), the cost of each estimator both ways: ESS by direct
autocovariances as far as Geyer's sequence goes (`mcmc_stats.ess`) against the FFT at every
lag (`ess_fft`), and the one-sort summary (`cell_stats.summarise`) against two rank
transforms with separate quantiles (`mcmc_stats.rhat_ess_bulk` + `ess_tail`), with the
largest relative difference of their results. To compare with another version of the
package, run this script with that version first on PYTHONPATH. On a shared machine compare
CPU times (and note the load it prints).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np

BATCH = 128  # quantities per call in the estimator comparison


def capture(path: Path, quick: bool) -> None:
    """Run the fit through the CLI; pickle the inputs of the summary and decision tables."""
    import bayes_btc.analysis.run as run
    from bayes_btc import cli

    seen: dict[str, list] = {"summary": [], "diagnostics": [], "decision": []}
    originals = run.summary_table, run.diagnostics_table, run.decision_table

    def summary(fits):
        seen["summary"].append(fits)
        return originals[0](fits)

    def diagnostics(*a):
        seen["diagnostics"].append(a)
        return originals[1](*a)

    def decision(*a):
        seen["decision"].append(a)
        return originals[2](*a)

    run.summary_table, run.diagnostics_table, run.decision_table = summary, diagnostics, decision
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            args = ["fit", "--out", str(Path(tmp) / "results"), *(["--quick"] if quick else [])]
            cli.app(args, standalone_mode=False)  # its statements are not what we measure
    finally:
        run.summary_table, run.diagnostics_table, run.decision_table = originals
    _, _, _, divergences, rules, thresholds = seen["diagnostics"][0]
    _, _, _, threshold, study = seen["decision"][0]
    data = {
        "fits": seen["summary"][0],
        "set_fits": seen["summary"][1] if len(seen["summary"]) > 1 else [],
        "rules": rules,
        "thresholds": thresholds,
        "divergences": divergences,
        "threshold": threshold,
        "study": study,
    }
    path.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))


def best(fn, repeat: int) -> tuple[float, float, object]:
    """(wall s, CPU s, result) of the fastest of `repeat` calls."""
    runs = []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        runs.append((time.perf_counter() - w, time.process_time() - c, out))
    return min(runs, key=lambda r: r[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=Path, default=Path(tempfile.gettempdir()) / "fits.pkl")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    a = parser.parse_args()
    if not a.fits.exists():
        print(f"fitting once (default plan{', quick' if a.quick else ''}) -> {a.fits}")
        capture(a.fits, a.quick)
    d = pickle.loads(a.fits.read_bytes())

    from bayes_btc.decisions.tables import decision_table, noninferiority_table
    from bayes_btc.inference import mcmc_stats
    from bayes_btc.inference.cell_stats import summarise
    from bayes_btc.inference.diagnostics import diagnostics_table
    from bayes_btc.inference.exact_check import exact_check
    from bayes_btc.inference.mcmc_stats import (
        ess,
        ess_fft,
        ess_tail,
        rhat_ess_bulk,
        split_chains,
        z_scale,
    )
    from bayes_btc.inference.pooling import worst_per_set
    from bayes_btc.inference.summary import summary_table

    fits, set_fits, rules = d["fits"], d["set_fits"], d["rules"]
    print(f"load: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs")
    print(f"{len(fits)} fits, {len(set_fits)} per-set fits")
    summary_table(fits[:2])  # numba's cached kernels loaded (compiled on a first run)
    rows = []

    def phase(name, fn):
        w, c, out = best(fn, a.repeat)
        rows.append((name, w, c))
        return out

    summary = phase("summary_table(fits)", lambda: summary_table(fits))
    if set_fits:
        per_set = phase("summary_table(set fits)", lambda: summary_table(set_fits))
        summary = worst_per_set(summary, per_set)
    phase("noninferiority_table", lambda: noninferiority_table(fits, rules))
    exact = phase(
        "exact_check", lambda: exact_check(fits, rules, d["thresholds"].max_exact_gap_mcse)
    )
    phase(
        "diagnostics_table",
        lambda: diagnostics_table(fits, summary, exact, d["divergences"], rules, d["thresholds"]),
    )
    phase(
        "decision_table",
        lambda: decision_table(fits, exact, rules, d["threshold"], d["study"]),
    )
    print(f"\n{'phase table':28s} {'wall s':>8s} {'CPU s':>8s}  (best of {a.repeat})")
    for name, w, c in rows:
        print(f"{name:28s} {w:8.2f} {c:8.2f}")

    groups: dict[tuple, list[np.ndarray]] = {}
    for f in set_fits or fits:
        for x in f.draws.values():
            x = np.asarray(x.values, dtype=float)
            if np.isfinite(x).all():
                groups.setdefault(x.shape, []).append(x)
    shape, xs = max(groups.items(), key=lambda g: len(g[1]))
    x = np.stack(xs)
    z = np.ascontiguousarray(z_scale(split_chains(x)))
    mcmc_stats.FFT_WORKERS = 1  # one thread for both ways
    print(f"\nestimators on {len(xs)} quantities of shape {shape} (chain, draw), one thread")
    w1, c1, e1 = best(lambda: ess(z), a.repeat)
    w2, c2, e2 = best(lambda: ess_fft(z), a.repeat)
    diff = np.nanmax(np.abs(e1 / e2 - 1))
    print(f"bulk ESS, direct lags  {w1:7.3f} s wall {c1:7.3f} s CPU")
    print(f"bulk ESS, FFT          {w2:7.3f} s wall {c2:7.3f} s CPU   max rel diff {diff:.1e}")
    batches = [x[k : k + BATCH] for k in range(0, len(x), BATCH)]

    def one_sort():
        parts = [summarise(b) for b in batches]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def two_ranks():
        parts = []
        for b in batches:
            r, e = rhat_ess_bulk(b)
            q = np.quantile(b.reshape(len(b), -1), [0.025, 0.5, 0.975], axis=1)
            parts.append((r, e, ess_tail(b), q))
        return [np.concatenate([p[k] for p in parts], axis=-1) for k in range(4)]

    w1, c1, s1 = best(one_sort, a.repeat)
    w2, c2, s2 = best(two_ranks, a.repeat)
    pairs = [(s1["r_hat"], s2[0]), (s1["ess_bulk"], s2[1]), (s1["ess_tail"], s2[2])]
    pairs += [(s1[f"q{k}"], s2[3][k]) for k in range(3)]
    diff = max(float(np.nanmax(np.abs(u / v - 1))) for u, v in pairs)
    print(f"one sort (summarise)   {w1:7.3f} s wall {c1:7.3f} s CPU")
    print(f"two rank transforms    {w2:7.3f} s wall {c2:7.3f} s CPU   max rel diff {diff:.1e}")


if __name__ == "__main__":
    main()
