"""Figures and NetCDF files are written by forked worker processes: the jobs run in other
processes, results come back in order, a failing job raises in the caller, and a figure drawn
in a worker has the same bytes as one drawn in this process."""

from __future__ import annotations

import os
import shutil
from functools import partial
from pathlib import Path

import pytest

from bayes_btc.analysis.table_figures import table_figure_specs
from bayes_btc.output.draw import draw_figures
from bayes_btc.output.parallel import Parallel, available_workers
from bayes_btc.output.saved import load_results

COMMITTED = Path(__file__).parents[1] / "results"
forked = pytest.mark.skipif(available_workers() < 2, reason="needs fork and 2 cores")


def _square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def _fail() -> None:
    raise ValueError("job failed")


@forked
def test_jobs_run_in_other_processes_and_come_back_in_order():
    with Parallel([partial(_square, i) for i in range(7)], workers=2) as run:
        out = run.results()
    assert [x for _, x in out] == [i * i for i in range(7)]
    assert os.getpid() not in {pid for pid, _ in out}


def test_serial_when_one_worker():
    with Parallel([partial(_square, i) for i in range(3)], workers=1) as run:
        assert run.workers == 1
        assert run.results() == [(os.getpid(), i * i) for i in range(3)]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_job_raises_in_the_caller(workers):
    with pytest.raises(ValueError, match="job failed"), Parallel([_fail, _fail], workers) as run:
        run.results()


def test_nested_blocks_are_refused():
    with Parallel([partial(_square, 1)] * 2, workers=2) as run:
        if run.workers > 1:
            with pytest.raises(RuntimeError, match="nested"), Parallel([_fail] * 2, workers=2):
                pass
        run.results()


@forked
def test_figures_drawn_in_workers_have_the_same_bytes(tmp_path):
    if not (COMMITTED / "provenance.json").exists():
        pytest.skip("no committed default results")
    folder = tmp_path / "results"
    shutil.copytree(COMMITTED, folder, ignore=shutil.ignore_patterns("posterior", "report.*"))
    specs = table_figure_specs(load_results(folder))
    serial, forked_ = tmp_path / "serial", tmp_path / "forked"
    serial.mkdir()
    forked_.mkdir()
    assert draw_figures(specs, serial, workers=1) == draw_figures(specs, forked_, workers=2)
    names = sorted(p.name for p in serial.glob("*.png"))
    assert names == sorted(p.name for p in forked_.glob("*.png")) and len(names) == len(specs)
    for name in names:
        assert (serial / name).read_bytes() == (forked_ / name).read_bytes(), name


@forked
def test_objects_alive_at_the_fork_are_frozen_while_the_workers_run():
    """Neither the workers' collections nor this process' scan (and copy) the shared memory;
    afterwards the collector is as before."""
    import gc

    frozen_before = gc.get_freeze_count()
    with Parallel([partial(_square, i) for i in range(3)], workers=2) as run:
        during = gc.get_freeze_count()
        run.results()
    assert during > frozen_before + 1000  # every object alive at the fork
    assert gc.get_freeze_count() == 0
