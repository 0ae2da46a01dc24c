"""Independent numpy work in one thread per core.

numpy and scipy.special release the GIL inside their array loops, so independent pieces of
array work (mixture fits, blocks of a grid) run side by side in threads, without copying
their inputs to other processes. Each piece computes exactly what it would alone, so the
results do not depend on the number of threads. `BAYES_BTC_THREADS=1` runs them one after
the other.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

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


class Background[R]:
    """`fn(*args)` computed on a thread of its own while the caller goes on (when more than
    one core); `result()` waits for its value or raises its exception. With one core (or
    `BAYES_BTC_THREADS=1`) `result()` computes it. The value is the same either way."""

    def __init__(self, fn: Callable[..., R], *args: object) -> None:
        self._call = partial(fn, *args)
        self._future: Future[R] = Future()
        self._thread: threading.Thread | None = None
        if cores() >= 2:
            self._thread = threading.Thread(target=self._run, name=fn.__name__, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._future.set_result(self._call())
        except BaseException as exc:  # handed to the caller by `result()`
            self._future.set_exception(exc)

    def result(self) -> R:
        """The value of `fn(*args)` (its exception raised here)."""
        if self._thread is None:
            return self._call()
        self._thread.join()  # finished: nothing left running when the caller forks
        return self._future.result()
