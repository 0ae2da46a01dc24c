"""The results folder, written atomically: everything goes to a staging folder beside the
target, which replaces the target only once complete. An error or an interruption (SIGINT,
SIGTERM: `bayes_btc.interrupts`) leaves the previous results byte-for-byte as they were and
no staging folder behind.

A results folder carries a marker file (`MARKER`, holding the format version). Only an empty
folder or a folder holding that marker is ever replaced; anything else (the current folder, a
folder of the user's own files, the folder holding the inputs) is refused before any work."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from bayes_btc.errors import InputError
from bayes_btc.output.contract import MARKER, RESULTS_FORMAT


def marker_text() -> str:
    """What the marker file of a results folder holds."""
    return f"bayes-btc results folder, format {RESULTS_FORMAT}\n"


def check_output_folder(out: str | Path, inputs: Iterable[str | Path | None] = ()) -> Path:
    """The absolute results folder `out`, if bayes-btc may (re)place it; else InputError.

    Allowed: a new folder, an empty one, or one holding the results marker (written by an
    earlier run) and none of `inputs`. Also checks, by renaming it there and back, that an
    existing folder can be replaced, so that a run does not fail only at its very end."""
    if not str(out).strip():
        raise InputError("--out is empty: name the results folder, e.g. --out results")
    target = Path(out).absolute()
    resolved = target.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise InputError(
            f"--out {out} names the current folder (or one holding it); name a results "
            "folder inside it instead, e.g. --out results"
        )
    if target.exists() and not target.is_dir():
        raise InputError(f"output folder {target} exists and is not a folder")
    for given in inputs:
        if given is not None and str(given) and resolved in Path(given).resolve().parents:
            raise InputError(f"--out {out} holds the input {given}; write the results elsewhere")
    if target.is_dir():
        _check_replaceable(target)
    parent = target.parent
    if parent.exists() and not (parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)):
        raise InputError(f"cannot write the output folder {target}: {parent} is not writable")
    return target


def _check_replaceable(target: Path) -> None:
    """An existing folder: empty or marked, and renamable (tried and undone at once)."""
    try:
        names = sorted(p.name for p in target.iterdir())
    except OSError as exc:
        raise InputError(f"cannot read the output folder {target}: {exc.strerror}") from None
    if names and MARKER not in names:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise InputError(
            f"output folder {target} holds files bayes-btc did not write ({shown}); "
            "give a new or empty folder, or one an earlier `bayes-btc fit` wrote"
        )
    probe = target.parent / f".{target.name}.old-{os.getpid()}"
    with _signals_held():
        try:
            os.rename(target, probe)
        except OSError as exc:
            raise InputError(f"cannot replace the output folder {target}: {exc.strerror}") from None
        os.rename(probe, target)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold off SIGINT/SIGTERM (delivered on exit) for a few file-system calls."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


@contextlib.contextmanager
def staged_output(out: str | Path, inputs: Iterable[str | Path | None] = ()) -> Iterator[Path]:
    """Yield a staging folder holding only the marker; on success it atomically becomes `out`.

    Refuses (InputError, before anything is written) a folder bayes-btc may not replace."""
    target = check_output_folder(out, inputs)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as exc:
        raise InputError(f"cannot write the output folder {target}: {exc.strerror}") from None
    try:
        (stage / MARKER).write_text(marker_text())
        yield stage
        _swap_into_place(stage, target)
    finally:
        with _signals_held():  # a second Ctrl-C must not leave the staging folder behind
            shutil.rmtree(stage, ignore_errors=True)


def _swap_into_place(stage: Path, target: Path) -> None:
    """Replace target with stage, with SIGINT/SIGTERM held off between the two renames."""
    os.chmod(stage, 0o755 & ~_umask())  # as mkdir would leave it, not mkdtemp's 0700
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    ignored: dict = {}
    with _signals_held():
        moved = False
        try:
            if target.exists():
                os.rename(target, old)
                moved = True
            os.rename(stage, target)
        except OSError as exc:
            if moved and not target.exists():
                os.rename(old, target)
            raise InputError(f"cannot replace the output folder {target}: {exc.strerror}") from None
        with contextlib.suppress(ValueError):  # main thread only
            # the new results are in place: a signal that came during the swap is dropped
            # rather than reported as an interruption that left the old results
            ignored = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    for s, handler in ignored.items():
        signal.signal(s, handler)
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
