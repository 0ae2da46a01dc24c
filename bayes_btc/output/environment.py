"""The software stack a run used, for provenance.json: every installed distribution and its
version, the sha256 of the lock file (`requirements.lock`, exact versions with hashes, made by
`scripts/lock`) when the package runs from a source checkout, and any installed version that
differs from the lock."""

from __future__ import annotations

import hashlib
import re
from importlib.metadata import distributions
from pathlib import Path

LOCK_FILE = Path(__file__).resolve().parents[2] / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them (lower case, runs of -_. as one -)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions() -> dict[str, str]:
    """Every installed distribution (normalised name -> version), sorted by name."""
    found = {normalise(d.metadata["Name"]): d.version for d in distributions() if d.metadata}
    return dict(sorted(found.items()))


def lock_pins(text: str) -> dict[str, str]:
    """The exact versions a lock file pins (normalised name -> version)."""
    return {normalise(m[1]): m[2] for line in text.splitlines() if (m := _PIN.match(line))}


def environment(lock: Path = LOCK_FILE) -> dict:
    """Installed versions, the lock file's sha256 and where the installed stack departs from it
    (a package the lock pins but a platform marker leaves out is not a departure)."""
    installed = installed_versions()
    if not lock.is_file():
        return {"lock_file": None, "lock_sha256": None, "installed": installed}
    data = lock.read_bytes()
    pins = lock_pins(data.decode())
    differs = {
        name: {"locked": pinned, "installed": installed[name]}
        for name, pinned in pins.items()
        if name in installed and installed[name] != pinned
    }
    return {
        "lock_file": lock.name,
        "lock_sha256": hashlib.sha256(data).hexdigest(),
        "matches_lock": not differs,
        "differs_from_lock": differs,
        "installed": installed,
    }
