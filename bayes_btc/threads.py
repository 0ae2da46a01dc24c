"""Independent numpy work in one thread per core.

numpy and scipy.special release the GIL inside their array loops, so independent pieces of
array work (mixture fits, blocks of a grid) run side by side in threads, without copying
their inputs to other processes. Each piece computes exactly what it would alone, so the
results do not depend on the number of threads. `BAYES_BTC_THREADS=1` runs them one after
the other.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

THREADS_ENV = "BAYES_BTC_THREADS"


def cores() -> int:
    """Threads to use: the cores this process may run on, or `BAYES_BTC_THREADS` when set."""
    env = os.environ.get(THREADS_ENV, "").strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threaded_map[A, R](fn: Callable[[A], R], items: Iterable[A]) -> list[R]:
    """[fn(i) for i in items], in order, computed in one thread per core."""
    items = list(items)
    workers = min(len(items), cores())
    if workers < 2:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))
