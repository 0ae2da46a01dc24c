"""Benchmark: writing a results folder once the analysis is done, part by part.

    python benchmarks/bench_write.py [--analysis FILE] [--quick] [--serial] [--keep DIR]

The analysis is run once (the default fit, or `--quick`) through the CLI, and the `Analysis`
and provenance it hands to the writer are pickled to FILE; later runs load FILE and skip the
fit. Then the whole writing step (`write_results`) runs into a fresh folder (kept in DIR with
`--keep`) and the benchmark prints the wall time of each of its phases (tables, figures,
report, as the writer announces them), its CPU time (this process and its workers), the PDF
and HTML rendering, each NetCDF file written serially, the drawing time per figure kind with
the share of the layout check and the CPU time (a serial pass, one process, unless
`--serial` is given), and the import time of the package (`python -X importtime`, fresh
processes: the CLI as `bayes-btc --help` loads it, the writer, the fit). To compare with
another version of the package, run this script with that version first on PYTHONPATH. On a
shared machine compare CPU times: wall times follow the other processes' load.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import bayes_btc


def capture(path: Path, quick: bool) -> None:
    """Run the fit through the CLI; pickle what it hands to `write_results`."""
    import bayes_btc.output.write as write
    from bayes_btc import cli

    original = write.write_results

    def keep(a, folder, prov, progress=None):
        path.write_bytes(pickle.dumps((a, prov), protocol=pickle.HIGHEST_PROTOCOL))
        return original(a, folder, prov, progress)

    write.write_results = keep
    try:
        with tempfile.TemporaryDirectory() as tmp:
            args = ["fit", "--out", str(Path(tmp) / "results"), *(["--quick"] if quick else [])]
            cli.app(args, standalone_mode=False)
    finally:
        write.write_results = original


def timed(spent: dict[str, float], name: str, fn):
    """`fn` adding its wall time to `spent[name]` and its CPU time (this process) to
    `spent[name + " (CPU)"]`."""

    def wrapper(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        try:
            return fn(*a, **k)
        finally:
            spent[name] += time.perf_counter() - t
            spent[f"{name} (CPU)"] += time.process_time() - c

    return wrapper


def import_seconds(code: str) -> float:
    """Cumulative import time of `code`'s imports in a fresh process (python -X importtime)."""
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"PYTHONPATH": str(Path(bayes_btc.__file__).parents[1])},
    )
    total = 0
    for line in p.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and not m.group(2):  # top-level imports only (their cumulative time)
            total += int(m.group(1))
    return total / 1e6


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (workers), user + system."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def figure_pass(specs, folder: Path) -> dict[str, tuple[int, float, float, float]]:
    """Draw every figure serially, one process: per kind (count, seconds, of which layout
    check seconds, CPU seconds)."""
    import bayes_btc.output.figures.layout as layout
    from bayes_btc.output.draw import draw_figures

    spent: dict[str, float] = defaultdict(float)
    name = "_problems" if hasattr(layout, "_problems") else "layout_problems"  # after/before
    original = getattr(layout, name)
    setattr(layout, name, timed(spent, "layout", original))
    out: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    try:
        for spec in specs:
            before = spent["layout"]
            t, cpu = time.perf_counter(), cpu_seconds()
            draw_figures([spec], folder)
            row = out[spec.kind]
            row[3] += cpu_seconds() - cpu
            row[0] += 1
            row[1] += time.perf_counter() - t
            row[2] += spent["layout"] - before
    finally:
        setattr(layout, name, original)
    return {k: tuple(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analysis", type=Path, default=Path(tempfile.gettempdir()) / "bench.pkl")
    ap.add_argument("--quick", action="store_true", help="capture a --quick fit")
    ap.add_argument("--serial", action="store_true", help="skip the per-kind serial pass")
    ap.add_argument("--keep", type=Path, help="copy the written folder here (for comparisons)")
    args = ap.parse_args()
    if not args.analysis.exists():
        print(f"running the fit once; analysis kept in {args.analysis}", flush=True)
        capture(args.analysis, args.quick)

    t0 = time.perf_counter()
    import bayes_btc.output.write as write
    from bayes_btc.output import report

    t_import = time.perf_counter() - t0
    a, prov = pickle.loads(args.analysis.read_bytes())
    spent: dict[str, float] = defaultdict(float)
    from bayes_btc.output import report_pdf

    pdf = getattr(report_pdf, "PdfParts", None)
    if pdf is not None:  # the PDF in parts: the appendix overlaps the figures
        pdf.render = timed(spent, "report: pdf layout (parts)", pdf.render)
        pdf.write = timed(spent, "report: pdf joined and written", pdf.write)
    else:
        report.write_pdf = timed(spent, "report: pdf", report.write_pdf)
    report.to_html = timed(spent, "report: html pages", report.to_html)
    reader = write if hasattr(write, "load_results") else report  # after / before
    reader.load_results = timed(spent, "report: reading the folder", reader.load_results)
    stamps: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "stage"
        folder.mkdir()
        load = os.getloadavg()[0]
        t, cpu = time.perf_counter(), cpu_seconds()
        write.write_results(a, folder, prov, lambda m: stamps.append((m, time.perf_counter())))
        end, cpu = time.perf_counter(), cpu_seconds() - cpu
        sizes = {p.name: p.stat().st_size for p in (folder / "posterior").iterdir()}
        if args.keep:
            shutil.copytree(folder, args.keep, dirs_exist_ok=True)
        nc = {}
        for family, tree in a.trees.items():  # serially, this process: the cost of each
            t_nc = time.perf_counter()
            tree.to_netcdf(Path(tmp) / f"{family}.nc", engine="h5netcdf")
            nc[family] = time.perf_counter() - t_nc
        per_kind = {} if args.serial else figure_pass(a.figures, Path(tmp))
    print(
        f"\nwrite_results: {end - t:.2f} s in all, CPU {cpu:.2f} s ({len(a.figures)} figures, "
        f"{os.cpu_count()} cores, load average before {load:.2f})"
    )
    marks = [("tables (+ NetCDF when serial)", t), *stamps]
    for (name, t1), (_, t2) in zip(marks, [*stamps, ("end", end)], strict=True):
        print(f"  {name:44s} {t2 - t1:7.2f} s")
    for name, sec in spent.items():
        print(f"    {name:42s} {sec:7.2f} s")
    print(f"NetCDF written serially (this process): {sum(nc.values()):.2f} s")
    for family, sec in nc.items():
        mb = sizes.get(f"{family}.nc", 0) / 1e6
        print(f"  {family:30s} {sec:7.2f} s  {mb:6.1f} MB")
    if per_kind:
        print("figures drawn serially, per kind: count, seconds, of which layout check, CPU")
        for kind, (n, sec, lay, c) in sorted(per_kind.items(), key=lambda kv: -kv[1][1]):
            print(f"  {kind:12s} {n:3d} {sec:7.2f} s  {lay:6.2f} s  {c:6.2f} s")
        print(
            f"  {'all':12s} {sum(v[0] for v in per_kind.values()):3d} "
            f"{sum(v[1] for v in per_kind.values()):7.2f} s  "
            f"{sum(v[2] for v in per_kind.values()):6.2f} s  "
            f"{sum(v[3] for v in per_kind.values()):6.2f} s"
        )
    print(f"importing the writer in this process: {t_import:.2f} s")
    print("imports in a fresh process (python -X importtime, cumulative):")
    for label, code in [
        ("bayes-btc --help", "from bayes_btc import cli"),
        ("the writer", "import bayes_btc.output.write"),
        ("the fit", "import bayes_btc.analysis.run"),
    ]:
        print(f"  {label:32s} {import_seconds(code):7.2f} s")


if __name__ == "__main__":
    main()
