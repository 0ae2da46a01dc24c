"""User-facing errors: one line that names the problem and where it is."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


class InputError(Exception):
    """Bad input from the user (file, field, option). The CLI prints it on one line, exit 2."""


def describe_validation_error(source: str | Path, err: ValidationError) -> InputError:
    """Turn the first pydantic error into one line: `<file>: field 'a.b.c': <message>`."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling)"
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    where = f"field '{loc}'" if loc else "top level"
    return InputError(f"{source}: {where}: {msg}{more}")


def read_toml(path: str | Path, what: str) -> dict:
    """Read a TOML file, with one-line errors for a missing file or invalid TOML."""
    import tomllib

    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {p}")
    if not p.is_file():
        raise InputError(f"{what} is not a file: {p}")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: invalid TOML: not UTF-8 text") from None
