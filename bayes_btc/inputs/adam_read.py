"""CDISC ADaM folder in: finding the domain files, reading them, and ADSL's arms and populations.

A folder holds `adsl` (required), `adtte`, `adrs` and `adae` (optional), each as `.xpt` (SAS
XPORT), `.csv` or `.parquet`; file and column names are matched case-insensitively. Every
problem is an `InputError` of one line naming the file, the variable and, where there is one,
the USUBJID.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from bayes_btc.errors import InputError

DOMAINS = ("adsl", "adtte", "adrs", "adae")
SUFFIXES = (".xpt", ".csv", ".parquet")
ARM_VARIABLES = ("TRT01P", "TRT01A", "ARM")
EFFICACY_FLAGS = ("ITTFL", "FASFL")  # the default efficacy population: the first present
SAFETY_FLAG = "SAFFL"


@dataclass(frozen=True)
class BinaryEndpoint:
    """A binary endpoint counted from patient-level ADaM data: subjects with the event and the
    population they are counted over, per arm."""

    name: str  # e.g. "ORR", "AE_CARDIAC_DISORDERS"
    label: str  # e.g. "Objective response (BOR: CR or PR)"
    kind: Literal["efficacy", "harm"]
    counts: dict[str, tuple[int, int]]  # arm -> (subjects with the event, denominator)
    source: str  # file and selection, e.g. "adae.xpt [TRTEMFL=Y, AEBODSYS=...]"
    note: str = ""  # what the count assumes, one sentence


@dataclass(frozen=True)
class Domain:
    """One ADaM dataset: its rows (upper-case column names) and where it came from."""

    name: str  # "ADSL", ...
    path: Path
    frame: pd.DataFrame

    def has(self, column: str) -> bool:
        return column in self.frame.columns

    def need(self, *columns: str) -> None:
        """Raise naming the file and the missing variables (and the ones present)."""
        missing = [c for c in columns if c not in self.frame.columns]
        if missing:
            present = ", ".join(self.frame.columns)
            raise InputError(
                f"{self.path}: {self.name} has no variable {', '.join(missing)}; "
                f"variables: {present}"
            )

    def text(self, column: str) -> np.ndarray:
        """The column as stripped text; missing values as ''."""
        return np.array([text_value(v) for v in self.frame[column].to_list()], dtype=object)

    def subjects(self) -> np.ndarray:
        """USUBJID as text; an empty one is an error naming the record."""
        self.need("USUBJID")
        ids = self.text("USUBJID")
        empty = np.flatnonzero(ids == "")
        if empty.size:
            raise InputError(f"{self.path}: variable USUBJID, record {empty[0] + 1}: is empty")
        return ids

    def numbers(self, column: str, ids: np.ndarray) -> np.ndarray:
        """The column as floats; an empty or non-numeric value is an error naming the USUBJID."""
        raw = self.frame[column].to_list()
        out = np.array([number_value(v) for v in raw], dtype=float)
        bad = np.flatnonzero(~np.isfinite(out))
        if bad.size:
            i = bad[0]
            shown = text_value(raw[i]) or "empty"
            more = f" (and {bad.size - 1} more)" if bad.size > 1 else ""
            raise InputError(
                f"{self.path}: variable {column}, USUBJID {ids[i]}: not a number ({shown}){more}"
            )
        return out


def text_value(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def number_value(v: object) -> float:
    try:
        if isinstance(v, str):
            return float(v.strip()) if v.strip() and "_" not in v else float("nan")
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def find_domains(folder: str | Path) -> dict[str, Path]:
    """domain -> file, for the ADaM datasets in `folder` (ADSL required)."""
    p = Path(folder)
    if not p.is_dir():
        raise InputError(f"ADaM folder not found: {p}")
    found: dict[str, Path] = {}
    for f in sorted(p.iterdir()):
        stem, suffix = f.stem.lower(), f.suffix.lower()
        if stem in DOMAINS and suffix in SUFFIXES and f.is_file():
            if stem in found:
                raise InputError(
                    f"{p}: two files for {stem.upper()} ({found[stem].name} and {f.name}); keep one"
                )
            found[stem] = f
    if "adsl" not in found:
        kinds = ", ".join(f"adsl{s}" for s in SUFFIXES)
        names = ", ".join(sorted(f.name for f in p.iterdir())) or "none"
        raise InputError(f"{p}: no ADSL dataset ({kinds}); files: {names}")
    return found


def read_domain(path: Path, name: str) -> Domain:
    """Read one ADaM dataset (.xpt, .csv or .parquet) with upper-case column names."""
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".xpt":
            df = pd.read_sas(path, format="xport")
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: cannot read: not UTF-8 text") from None
    except Exception as exc:  # the readers raise many kinds of error on a damaged file
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{path}: cannot read {name}: {detail}") from None
    df.columns = [str(c).strip().upper() for c in df.columns]
    if suffix == ".xpt":
        for c in df.columns:
            if df[c].dtype.kind == "f":  # pandas reads some IBM zeros as 16**-65 (pandas#50670)
                df[c] = df[c].mask(df[c].abs() <= 16.0**-65, 0.0)
    if len(df) == 0:
        raise InputError(f"{path}: {name} has no records")
    return Domain(name, path, df.reset_index(drop=True))


def distinct(values: np.ndarray) -> str:
    """The non-empty values a variable takes (e.g. STUDYID), comma-separated."""
    return ", ".join(sorted({v for v in values if v}))


@dataclass(frozen=True)
class Adsl:
    """ADSL: the two arms' subjects and their efficacy and safety populations."""

    path: Path
    study_id: str
    treatment: str
    control: str
    arm_variable: str
    arm: dict[str, str]  # USUBJID -> arm label, subjects of the two arms only
    efficacy: frozenset[str]  # USUBJIDs of the efficacy population (two arms)
    safety: frozenset[str]
    efficacy_rule: str  # e.g. "ITTFL = Y"
    safety_rule: str
    subjects: frozenset[str] = frozenset()  # every USUBJID of ADSL, any arm
    notes: tuple[str, ...] = ()

    def counts(self, population: frozenset[str]) -> dict[str, int]:
        """Subjects per arm in a population."""
        arms = (self.treatment, self.control)
        return {a: sum(self.arm[s] == a for s in population) for a in arms}


def _population(
    d: Domain, ids: np.ndarray, in_arms: np.ndarray, flag: str | None, defaults: tuple[str, ...]
) -> tuple[frozenset[str], str, str]:
    """(subjects, rule, note) for a population flag: the flag asked, else the first default
    present, else every subject of the two arms (stated in the note)."""
    if flag is not None:
        if not d.has(flag):
            flags = ", ".join(c for c in d.frame.columns if c.endswith("FL")) or "none"
            raise InputError(
                f"{d.path}: ADSL has no variable {flag}; flag variables present: {flags}"
            )
        chosen = flag
    else:
        chosen = next((f for f in defaults if d.has(f)), "")
    if not chosen:
        rule = "every subject of the two arms"
        note = (
            f"ADSL has no {' or '.join(defaults)}: the population is {rule} "
            f"(choose a flag variable to change this)."
        )
        return frozenset(ids[in_arms].tolist()), rule, note
    values = d.text(chosen)
    odd = sorted({v for v in values if v not in ("Y", "N", "")})
    if odd:
        raise InputError(
            f"{d.path}: variable {chosen}: a population flag takes Y, N or blank, "
            f"found {', '.join(map(repr, odd))}"
        )
    return frozenset(ids[in_arms & (values == "Y")].tolist()), f"{chosen} = Y", ""


def read_adsl(
    path: Path,
    treatment: str,
    control: str,
    arm_variable: str = "TRT01P",
    efficacy_flag: str | None = None,
    safety_flag: str | None = None,
) -> Adsl:
    """ADSL's subjects of the two arms (by `arm_variable`) and their populations.

    Efficacy population: `efficacy_flag` = "Y" (default ITTFL, else FASFL, else every subject of
    the two arms, stated); safety population: `safety_flag` (default SAFFL, same fallback)."""
    d = read_domain(path, "ADSL")
    ids = d.subjects()
    d.need(arm_variable)
    dup = pd.Series(ids).duplicated()
    if dup.any():
        raise InputError(
            f"{path}: variable USUBJID: USUBJID {ids[dup.to_numpy()][0]} appears more than once"
        )
    if treatment == control:
        raise InputError(f"{path}: treatment and control are the same arm '{treatment}'")
    arms = d.text(arm_variable)
    present = sorted({a for a in arms if a})
    for role, label in (("treatment", treatment), ("control", control)):
        if label not in present:
            raise InputError(
                f"{path}: {role} arm '{label}' is not a value of {arm_variable}; "
                f"arms present: {', '.join(present)}"
            )
    in_arms = np.isin(arms, [treatment, control])
    eff, eff_rule, eff_note = _population(d, ids, in_arms, efficacy_flag, EFFICACY_FLAGS)
    saf, saf_rule, saf_note = _population(d, ids, in_arms, safety_flag, (SAFETY_FLAG,))
    arm = dict(zip(ids[in_arms].tolist(), arms[in_arms].tolist(), strict=True))
    study_id = distinct(d.text("STUDYID")) if d.has("STUDYID") else ""
    notes = tuple(
        n.replace("the population", f"the {kind} population", 1)
        for n, kind in ((eff_note, "efficacy"), (saf_note, "safety"))
        if n
    )
    out = Adsl(
        path,
        study_id,
        treatment,
        control,
        arm_variable,
        arm,
        eff,
        saf,
        eff_rule,
        saf_rule,
        frozenset(ids.tolist()),
        notes,
    )
    for name, pop in (("efficacy", eff), ("safety", saf)):
        empty = [a for a, n in out.counts(pop).items() if n == 0]
        if empty:
            rule = eff_rule if name == "efficacy" else saf_rule
            raise InputError(
                f"{path}: arm {', '.join(map(repr, empty))} has no subject in the {name} "
                f"population ({rule})"
            )
    return out


def check_subjects(d: Domain, ids: np.ndarray, adsl: Adsl) -> None:
    """Every USUBJID of a domain must be in ADSL (any arm)."""
    unknown = [s for s in ids if s not in adsl.subjects]
    if unknown:
        more = f" (and {len(set(unknown)) - 1} more)" if len(set(unknown)) > 1 else ""
        raise InputError(
            f"{d.path}: variable USUBJID: USUBJID {unknown[0]} is not in ADSL ({adsl.path}){more}"
        )
