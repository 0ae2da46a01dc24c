"""Interrupts (SIGINT, SIGTERM) that stop a run at any stage.

During a run both signals raise `Interrupted` and are also recorded, because some libraries
swallow an exception raised inside them (nutpie returns the draws made so far on Ctrl-C; an
exception raised while numba compiles may be printed as "Exception ignored" and dropped).
`check_interrupted()`, called after each compile, sampling, figure and the report, turns a
recorded signal into `Interrupted` even then."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []


class Interrupted(BaseException):
    """The run was stopped by a signal (or a sampler returned fewer draws than asked)."""


def was_interrupted() -> bool:
    """Whether a signal arrived during the current run."""
    return bool(_received)


def check_interrupted() -> None:
    """Raise `Interrupted` if a signal arrived during the run, even if it was swallowed."""
    if _received:
        raise Interrupted(f"stopped by signal {_received[0]}")


def _handler(signum: int, frame: object) -> None:
    _received.append(signum)
    raise Interrupted(f"stopped by signal {signum}")


def _quiet_unraisable(unraisable: object) -> None:
    """Drop the "Exception ignored" report of a swallowed interrupt (it is recorded)."""
    if not isinstance(getattr(unraisable, "exc_value", None), Interrupted | KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)  # type: ignore[arg-type]


@contextlib.contextmanager
def interrupts_stop_the_run() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise `Interrupted` and are recorded (main thread
    only; elsewhere signals are left alone)."""
    _received.clear()
    try:
        previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    except ValueError:  # not the main thread
        yield
        return
    hook, sys.unraisablehook = sys.unraisablehook, _quiet_unraisable
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        sys.unraisablehook = hook
