"""The one CSV writer: atomic (a temporary file beside the target, then renamed, so a failure
leaves no half file) with one float format per kind of content. Results tables carry 6
significant digits; patient-level data (times in months) carry 10, so that a written data set
reads back as the data that were fitted."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from bayes_btc.errors import InputError

RESULT_DIGITS = 6
DATA_DIGITS = 10


def check_file_target(path: str | Path) -> Path:
    """`path` as a Path, if a file may be written there (not a folder); else InputError."""
    path = Path(path)
    if not str(path).strip() or path.is_dir():
        raise InputError(f"cannot write {str(path)!r}: it is a folder; give a file name (.csv)")
    return path


def write_csv(df: pd.DataFrame, path: str | Path, digits: int = RESULT_DIGITS) -> Path:
    """Write `df` (no index, '\\n' line ends) to `path` atomically; returns the path."""
    path = check_file_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w") as fh:
            df.to_csv(fh, index=False, float_format=f"%.{digits}g", lineterminator="\n")
        os.chmod(tmp, 0o644)  # as a plain open() would leave it, not mkstemp's 0600
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
