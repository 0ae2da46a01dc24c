"""Writes a results folder from an `Analysis`: the contract's tables, one NetCDF per model
family (carrying the plan and sampler settings it was fitted with), provenance.json, the
figures the analysis specified, and the report. Computes nothing itself."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import xarray as xr

from bayes_btc.analysis.result import Analysis
from bayes_btc.inputs.datakey import is_reconstructed
from bayes_btc.interrupts import check_interrupted
from bayes_btc.output.contract import CONTRACT_FILES, POSTERIOR_FOLDER
from bayes_btc.output.draw import figure_jobs, index_entry
from bayes_btc.output.parallel import Parallel
from bayes_btc.output.provenance import posterior_attrs
from bayes_btc.output.report import ReportWriter
from bayes_btc.output.report_evidence import appendix_stems
from bayes_btc.output.saved import load_results
from bayes_btc.tables import write_csv


def write_results(
    a: Analysis, folder: Path, prov: dict, progress: Callable[[str], None] | None = None
) -> None:
    """Write every file of the output contract into `folder` (a staging folder); `progress`
    is told when the figures and the report start."""
    progress = progress or (lambda _: None)
    write_csv(a.summary, folder / "summary.csv")
    write_csv(a.noninferiority, folder / "noninferiority.csv")
    write_csv(a.diagnostics, folder / "diagnostics.csv")
    write_csv(a.audit.table, folder / "audit.csv")
    write_csv(a.exact, folder / "exact_check.csv")
    write_csv(a.ard, folder / "ard.csv")
    a.ard.to_parquet(folder / "ard.parquet", index=False)
    if len(a.spread):
        write_csv(a.spread, folder / "reconstruction_spread.csv")
    if len(a.cox_check):
        write_csv(a.cox_check, folder / "cox_check.csv")
    if len(a.oc_exact):
        write_csv(a.oc_exact, folder / "oc_exact.csv")
    (folder / POSTERIOR_FOLDER).mkdir()
    posteriors = []
    for family, tree in a.trees.items():
        tree.attrs.update(
            posterior_attrs(a, family, prov) | {"reconstructed": int(is_reconstructed(family))}
        )
        path = folder / POSTERIOR_FOLDER / f"{family}.nc"
        posteriors.append(partial(write_posterior, tree, path))
    write_csv(a.decisions, folder / "decisions.csv")
    if len(a.priors):
        write_csv(a.priors, folder / "priors.csv")
    if a.historical is not None:
        write_csv(a.historical.table, folder / "historical_priors.csv")
        write_csv(a.historical.trials, folder / "historical_trials.csv")
    if a.tipping is not None:
        write_csv(a.tipping.table, folder / "tipping_point.csv")
    (folder / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
    (folder / "figures").mkdir()
    # The appendix's figures are drawn first, so that the PDF's appendix (most of its layout
    # time) is rendered here while the workers draw the rest; the report is planned from the
    # figures' files and captions meanwhile. The posteriors are written last, while this
    # process writes the report.
    first = set(appendix_stems([s.file for s in a.figures], list(a.endpoints)))
    order = sorted(range(len(a.figures)), key=lambda i: a.figures[i].file not in first)
    figures = figure_jobs([a.figures[i] for i in order], folder / "figures")
    with Parallel(figures + posteriors) as run:
        progress(f"drawing {len(a.figures)} figures ({run.workers} processes)")
        report = ReportWriter(load_results(folder, [index_entry(s) for s in a.figures]))
        write_figures(run, order, folder / "figures", report)
        progress("writing the report")
        write_report(report)
        check_interrupted()
        run.results()
    missing = [f for f in CONTRACT_FILES if not (folder / f).exists()]
    if missing:  # a bug, not bad input: never swap an incomplete folder into place
        raise RuntimeError(f"results folder incomplete, missing {missing}")


@contextmanager
def without_distributed() -> Iterator[None]:
    """xarray's `to_netcdf` asks dask for its scheduler, which imports dask.distributed when
    it is installed (0.3-0.6 s in each writing process); the posteriors are numpy arrays and
    need none. Unless already imported, distributed is hidden (an ImportError, which xarray
    and dask expect) while the block runs."""
    hide = "distributed" not in sys.modules
    if hide:
        sys.modules["distributed"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if hide and sys.modules.get("distributed", 0) is None:
            del sys.modules["distributed"]


def write_posterior(tree: xr.DataTree, path: Path) -> None:
    """One model family's posterior as NetCDF4/HDF5 (uncompressed) at `path`."""
    with without_distributed():
        tree.to_netcdf(path, engine="h5netcdf")


def write_figures(
    run: Parallel, order: list[int], folder: Path, report: ReportWriter | None = None
) -> None:
    """Wait for the first `len(order)` jobs of `run` (the figures; job k draws figure
    `order[k]`) and write figures/index.json (file, caption, layout problems) in figure
    order. With `report`, its appendix is rendered as soon as the figures it shows are
    drawn, while the workers draw the others."""
    pending = {f.name for f in report.appendix_figures} if report is not None else set()
    done: dict[int, dict] = {}
    for k, i in enumerate([None, *order]):
        if i is not None:
            done[i] = run.result(k - 1)
            pending.discard(done[i]["file"])
        if report is not None and not pending:
            report.render_appendix()
            check_interrupted()
            report = None
    index = [done[i] for i in range(len(order))]
    (folder / "index.json").write_text(json.dumps(index, indent=1) + "\n")


def write_report(report: ReportWriter) -> list[Path]:
    """The report files (the PDF's appendix rendered already or now)."""
    return report.write()
