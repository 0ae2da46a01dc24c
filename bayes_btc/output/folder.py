"""The results folder, written atomically: everything goes to a staging folder beside the
target, which replaces the target only once complete. An error or an interruption (SIGINT,
SIGTERM) leaves the previous results byte-for-byte as they were and no staging folder behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bayes_btc.errors import InputError


class Interrupted(BaseException):
    """Raised from a SIGTERM handler so that clean-up code runs as for Ctrl-C."""


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into an exception for the duration of a run (main thread only)."""

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(f"stopped by signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def staged_output(out: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it atomically becomes `out`."""
    target = Path(out).absolute()
    if target.exists() and not target.is_dir():
        raise InputError(f"output folder {target} exists and is not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as exc:
        raise InputError(f"cannot write the output folder {target}: {exc.strerror}") from None
    try:
        yield stage
        _swap_into_place(stage, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _swap_into_place(stage: Path, target: Path) -> None:
    """Replace target with stage, with SIGINT/SIGTERM held off between the two renames."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    blocked = {signal.SIGINT, signal.SIGTERM}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        if target.exists():
            os.rename(target, old)
        os.rename(stage, target)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    shutil.rmtree(old, ignore_errors=True)
