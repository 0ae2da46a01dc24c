"""Independent writing jobs (one figure, one NetCDF file) run in forked worker processes, one
per available core, so that drawing and writing a results folder use every core.

The jobs are plain callables made in this process; the workers are forked after the jobs are
known and run them from their inherited copy of this process's memory, so nothing (posterior
draws, figure data) is pickled on the way in; only each job's small return value comes back.
A job gives the same bytes in a worker as in this process. Without `fork` (not Linux), with a
single core, a single job, or `BAYES_BTC_WORKERS=1` in the environment, the jobs run here one
after the other, when their result is asked for. Workers ignore SIGINT (this process handles
it) and are terminated when the block is left early."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from multiprocessing.pool import AsyncResult, Pool
from types import TracebackType
from typing import Any

from bayes_btc.interrupts import check_interrupted

WORKERS_ENV = "BAYES_BTC_WORKERS"
FORK_WARNING = r".*is multi-threaded, use of fork\(\) may lead to deadlocks"

_jobs: Sequence[Callable[[], Any]] = ()  # what forked workers run, by index


def _run(i: int) -> Any:
    return _jobs[i]()


def _quiet_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _can_fork() -> bool:
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def available_workers() -> int:
    """Cores this process may use (or `BAYES_BTC_WORKERS` when set); 1 without `fork`."""
    if not _can_fork():
        return 1
    env = os.environ.get(WORKERS_ENV, "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    return len(os.sched_getaffinity(0))


class Parallel:
    """Runs `jobs` in forked workers from entering the block; `result(i)` waits for job i
    (and raises what it raised). Used as `with Parallel(jobs) as run: run.result(0)`."""

    def __init__(self, jobs: Sequence[Callable[[], Any]], workers: int | None = None) -> None:
        self.jobs = list(jobs)
        n = available_workers() if workers is None else workers
        self.workers = max(1, min(n, len(self.jobs))) if _can_fork() else 1
        self._pool: Pool | None = None
        self._pending: list[AsyncResult] = []
        self._done: dict[int, Any] = {}

    def __enter__(self) -> Parallel:
        global _jobs
        if self.workers > 1:
            if _jobs:
                raise RuntimeError("Parallel blocks cannot be nested")
            _jobs = self.jobs
            ctx = multiprocessing.get_context("fork")
            # objects alive at the fork are frozen while the workers run: no collection, here
            # or in a worker, scans (and so copies, page by page) the memory they share
            gc.freeze()
            with warnings.catch_warnings():
                # Python warns on any fork of a process with threads (numpy's BLAS pool, an
                # idle sampler pool): the workers only draw and write files, using no lock
                # those threads could hold (BLAS and malloc reset theirs at fork).
                warnings.filterwarnings("ignore", FORK_WARNING, DeprecationWarning)
                try:
                    self._pool = ctx.Pool(self.workers, initializer=_quiet_worker)
                except BaseException:
                    _jobs = ()
                    gc.unfreeze()
                    raise
            self._pending = [self._pool.apply_async(_run, (i,)) for i in range(len(self.jobs))]
        return self

    def result(self, i: int) -> Any:
        """Job `i`'s return value, once it has finished."""
        if i not in self._done:
            if self._pool is None:
                self._done[i] = self.jobs[i]()
            else:
                self._done[i] = self._pending[i].get()
            check_interrupted()
        return self._done[i]

    def results(self) -> list[Any]:
        """Every job's return value, in the order of `jobs`."""
        return [self.result(i) for i in range(len(self.jobs))]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _jobs
        if self._pool is not None:
            if exc_type is None:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool.join()
            self._pool = None
            _jobs = ()
            gc.unfreeze()
