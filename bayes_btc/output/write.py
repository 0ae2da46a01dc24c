"""Writes a results folder from an `Analysis`: the contract's tables, one NetCDF per model
family (carrying the plan and sampler settings it was fitted with), provenance.json, the
figures the analysis specified, and the report. Computes nothing itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import xarray as xr

from bayes_btc.analysis.result import Analysis
from bayes_btc.inputs.datakey import is_reconstructed
from bayes_btc.interrupts import check_interrupted
from bayes_btc.output.contract import CONTRACT_FILES, POSTERIOR_FOLDER
from bayes_btc.output.draw import figure_jobs
from bayes_btc.output.parallel import Parallel
from bayes_btc.output.provenance import posterior_attrs
from bayes_btc.output.report import write_report
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
    figures = figure_jobs(a.figures, folder / "figures")
    # Figures first, then the posteriors: the report (this process) needs only the figures, so
    # the workers write the NetCDF files while the report is rendered.
    with Parallel(figures + posteriors) as run:
        progress(f"drawing {len(a.figures)} figures ({run.workers} processes)")
        write_figures(run, len(figures), folder / "figures")
        progress("writing the report")
        write_report(folder)
        check_interrupted()
        run.results()
    missing = [f for f in CONTRACT_FILES if not (folder / f).exists()]
    if missing:  # a bug, not bad input: never swap an incomplete folder into place
        raise RuntimeError(f"results folder incomplete, missing {missing}")


def write_posterior(tree: xr.DataTree, path: Path) -> None:
    """One model family's posterior as NetCDF4/HDF5 (uncompressed) at `path`."""
    tree.to_netcdf(path, engine="h5netcdf")


def write_figures(run: Parallel, n: int, folder: Path) -> None:
    """Wait for the first `n` jobs of `run` (the figures) and write figures/index.json (file,
    caption, layout problems) from their index entries."""
    index = [run.result(i) for i in range(n)]
    (folder / "index.json").write_text(json.dumps(index, indent=1) + "\n")
