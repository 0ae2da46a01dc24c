"""User-facing errors: one line that names the problem and where it is."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


class InputError(Exception):
    """Bad input from the user (file, field, option). The CLI prints it on one line, exit 2."""


_TYPE_TAGS = {"str", "int", "float", "bool", "none", "list", "dict", "decimal"}
_PATTERN_WORDS = {
    "^[A-Za-z][A-Za-z0-9_]*$": "a name of letters, digits and _ that starts with a letter",
}
_SHOULD = "Input should be "


def _plain_loc(loc: tuple) -> tuple[list[str], bool]:
    """The field path without pydantic's type tags (`literal['x']`, `list[str]`,
    `function-after[...]`); and whether the error is about a key (a name) of a table."""
    parts = [str(p) for p in loc]
    key = "[key]" in parts
    kept = [p for p in parts if p != "[key]" and "[" not in p and p not in _TYPE_TAGS]
    return kept, key


def _plain_msg(e: dict) -> str:
    """One pydantic message in words a statistician reads (no regexes, no type tags)."""
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "missing":
        return "required field is missing"
    if e["type"] == "extra_forbidden":
        return "unknown field (check the spelling)"
    if e["type"] == "string_pattern_mismatch":
        want = _PATTERN_WORDS.get(str(e.get("ctx", {}).get("pattern")), "a different form")
        return f"{e.get('input')!r} is not allowed here: it should be {want}"
    if e["type"] in ("dict_type", "model_type"):
        return "should be a table of one number per arm"
    if msg.startswith(_SHOULD):
        return "should be " + msg.removeprefix(_SHOULD)
    return msg


def describe_validation_error(source: str | Path, err: ValidationError) -> InputError:
    """Turn the first problem pydantic found into one line in plain words:
    `<file>: field 'a.b.c': <message>`; alternatives of one field are joined with "or"."""
    errors = err.errors()
    first, key = _plain_loc(errors[0]["loc"])
    # alternatives of one field (e.g. a word or a table): a branch that got deeper into the
    # input (a table's entry) says more than the others
    branch = [e for e in errors if _plain_loc(e["loc"])[0][: len(first)] == first]
    deepest = max(branch, key=lambda e: len(_plain_loc(e["loc"])[0]))
    if len(_plain_loc(deepest["loc"])[0]) > len(first):
        errors = [deepest, *(e for e in errors if e not in branch)]
        first, key = _plain_loc(deepest["loc"])
    same = [e for e in errors if _plain_loc(e["loc"])[0] == first]
    msgs = list(dict.fromkeys(_plain_msg(e) for e in same))
    msg = (
        msgs[0]
        if len(msgs) == 1
        else " or ".join([msgs[0], *(m.removeprefix("should be ") for m in msgs[1:])])
    )
    others = len({tuple(_plain_loc(e["loc"])[0]) for e in errors}) - 1
    more = f" ({others} other problem{'s' if others > 1 else ''} in the file)" if others else ""
    loc = ".".join(first)
    parent = ".".join(first[:-1])
    where = f"a name in '{parent}'" if key else (f"field '{loc}'" if loc else "top level")
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
