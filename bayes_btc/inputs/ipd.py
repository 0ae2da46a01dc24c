"""Individual patient data in: plain CSV and CDISC ADaM ADTTE (CSV or SAS XPORT).

A plain CSV has the columns `arm,time,event` (time in months; event 1 = event, 0 = censored).
An ADTTE dataset has one row per subject and endpoint: USUBJID, PARAMCD (the endpoint), AVAL in
the unit AVALU, CNSR (1 = censored, 0 = event) and the arm in TRT01P (or ARM). Every problem is
an `InputError` of one line naming the file and the column, line (the header is line 1) or
subject. Column names are matched case-insensitively; blank lines are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_btc.errors import InputError

DAYS_PER_MONTH = 30.4375  # 365.25 / 12
# AVALU -> (multiplier, divisor) to months; days are divided, not multiplied by 1/30.4375
_UNITS = {"DAYS": (1.0, DAYS_PER_MONTH), "WEEKS": (7.0, DAYS_PER_MONTH)}
_UNITS |= {"MONTHS": (1.0, 1.0), "YEARS": (12.0, 1.0)}
_MISSING_TOKENS = {"na", "nan", "n/a", "null", "none", "."}
_ADTTE = ("USUBJID", "PARAMCD", "AVAL", "AVALU", "CNSR")


@dataclass(frozen=True, eq=False)
class SurvivalIPD:
    """One time-to-event endpoint, patient level, two arms. Time in months."""

    endpoint: str  # e.g. "PFS"
    treatment: str  # arm label of the experimental arm
    control: str
    arm: np.ndarray  # (n,) str labels, each == treatment or control
    time: np.ndarray  # (n,) float months, > 0
    event: np.ndarray  # (n,) int 0/1 (1 = event, 0 = censored)
    source: str  # file path (and PARAMCD for ADaM)
    reconstructed: bool = False  # True when the data are reconstructed, not observed
    note: str = ""  # how reconstructed data were made (targets, tolerances, assumptions)

    def arm_index(self) -> np.ndarray:
        """(n,) int: 0 for treatment, 1 for control."""
        return (self.arm == self.control).astype(int)

    def to_frame(self) -> pd.DataFrame:
        """Columns arm, time (months), event (1 = event, 0 = censored), in file order."""
        return pd.DataFrame({"arm": self.arm, "time": self.time, "event": self.event})


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return repr(str(value).strip())


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip()


def _float(value: object) -> float:
    """Python's exact parse (pd.to_numeric can be off by one ulp); NaN when not a number."""
    try:
        if isinstance(value, str):
            return float("nan") if "_" in value else float(value.strip())  # no 1_000
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _fail_rows(bad: np.ndarray, src: str, col: str, where: Sequence[str], what) -> None:
    """Raise for the first row flagged in `bad`: `<src>: column 'c', line n: <what>`.

    `what` is the message, or a function of the row position giving it."""
    idx = np.flatnonzero(bad)
    if idx.size:
        msg = what(idx[0]) if callable(what) else what
        more = f" (and {idx.size - 1} more)" if idx.size > 1 else ""
        raise InputError(f"{src}: column '{col}', {where[idx[0]]}: {msg}{more}")


def _labels(raw: pd.Series, col: str, src: str, where: Sequence[str]) -> np.ndarray:
    """Non-empty text labels, stripped."""
    values = raw.to_list()
    _fail_rows(np.array([_blank(v) for v in values], bool), src, col, where, "is empty")
    return np.array([str(v).strip() for v in values], dtype=str)


def _numbers(
    raw: pd.Series, col: str, src: str, where: Sequence[str], positive: bool = False
) -> np.ndarray:
    """Finite floats (> 0 if `positive`); empty cells, missing-value tokens and text are errors."""
    num = np.array([_float(v) for v in raw.to_list()], dtype=float)

    def what(i: int) -> str:
        v = raw.iloc[i]
        if _blank(v):
            return "is empty"
        if str(v).strip().lower() in _MISSING_TOKENS:
            return f"is missing ({_show(v)})"
        return f"is not a finite number: {_show(v)}"

    _fail_rows(~np.isfinite(num), src, col, where, what)
    if positive:
        _fail_rows(num <= 0, src, col, where, lambda i: f"must be > 0, got {num[i]:g}")
    return num


def _codes(raw: pd.Series, col: str, src: str, where: Sequence[str], legend: str) -> np.ndarray:
    """0/1 codes as int."""
    num = _numbers(raw, col, src, where)
    bad = ~np.isin(num, (0.0, 1.0))
    _fail_rows(bad, src, col, where, lambda i: f"must be 0 or 1 ({legend}), got {num[i]:g}")
    return num.astype(int)


def _need_arms(arm: np.ndarray, treatment: str, control: str, src: str, problem: str) -> list[str]:
    """Raise `<src>: <role> arm '<label>' <problem>; arm labels present: ...` for an absent arm."""
    present = sorted(set(arm.tolist()))
    for role, label in (("treatment", treatment), ("control", control)):
        if label not in present:
            labels = ", ".join(present)
            raise InputError(f"{src}: {role} arm '{label}' {problem}; arm labels present: {labels}")
    return present


def from_frame(
    df: pd.DataFrame,
    treatment: str,
    control: str,
    endpoint: str,
    source: str,
    *,
    reconstructed: bool = False,
    rows: Sequence[str] | None = None,
    columns: Mapping[str, str] | None = None,
    require_events: bool = True,
) -> SurvivalIPD:
    """Validate a frame with columns arm, time (months), event (1/0) into a `SurvivalIPD`.

    `rows` names each row in messages (default "row i", 1-based); `columns` maps arm/time/event
    to the column names the user's file has (e.g. {"time": "AVAL"}); `require_events=False`
    accepts an arm without events (the proper log-HR prior then bounds the posterior).
    """
    src = str(source)
    name = {"arm": "arm", "time": "time", "event": "event", **(columns or {})}
    if missing := [c for c in ("arm", "time", "event") if c not in df.columns]:
        present = ", ".join(map(str, df.columns)) or "none"
        raise InputError(f"{src}: missing column(s) {', '.join(missing)}; columns: {present}")
    if len(df) == 0:
        raise InputError(f"{src}: no patients (no data rows)")
    if treatment == control:
        raise InputError(f"{src}: treatment and control are the same arm label '{treatment}'")
    where = [f"row {i + 1}" for i in range(len(df))] if rows is None else list(rows)
    df = df.reset_index(drop=True)
    arm = _labels(df["arm"], name["arm"], src, where)
    time = _numbers(df["time"], name["time"], src, where, positive=True)
    event = _codes(df["event"], name["event"], src, where, "1 = event, 0 = censored")
    present = _need_arms(arm, treatment, control, src, f"has no patients in column '{name['arm']}'")
    unknown = ~np.isin(arm, [treatment, control])
    others = ", ".join(repr(a) for a in sorted(set(arm[unknown].tolist())))
    msg = f"arm label(s) {others} are neither treatment '{treatment}' nor control '{control}'"
    _fail_rows(unknown, src, name["arm"], where, f"{msg}; arm labels present: {', '.join(present)}")
    for role, label in (("treatment", treatment), ("control", control)):
        if require_events and event[arm == label].sum() == 0:
            n = int((arm == label).sum())
            pts = "patient" if n == 1 else "patients"
            raise InputError(f"{src}: {role} arm '{label}' has no events among its {n} {pts}")
    arm, time, event = arm.copy(), time.copy(), event.copy()  # not views of the caller's frame
    for a in (arm, time, event):
        a.setflags(write=False)
    return SurvivalIPD(endpoint, treatment, control, arm, time, event, src, reconstructed)


def _read(path: str | Path, suffixes: tuple[str, ...] | None) -> tuple[pd.DataFrame, list[str]]:
    """Read a CSV (cells as text) or SAS XPORT file; return it and a location name per row."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"IPD file not found: {p}")
    if not p.is_file():
        raise InputError(f"IPD file is not a file: {p}")
    xpt = p.suffix.lower() == ".xpt"
    if suffixes is not None and p.suffix.lower() not in suffixes:
        expected = " or ".join(suffixes)
        raise InputError(f"{p}: unsupported file type '{p.suffix}' (expected {expected})")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: empty file")
    try:
        if xpt:
            df = pd.read_sas(p, format="xport")
        else:
            df = pd.read_csv(p, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{p}: empty file") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: cannot read: not UTF-8 text") from None
    except Exception as exc:  # the parsers raise many kinds of error on a damaged file
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{p}: cannot read {'SAS XPORT' if xpt else 'CSV'}: {detail}") from None
    df.columns = [str(c).strip() for c in df.columns]
    if xpt:
        for c in df.columns:
            if df[c].dtype == object:
                df[c] = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in df[c]]
            elif df[c].dtype.kind == "f":  # pandas reads some IBM zeros as 16**-65 (pandas#50670)
                df[c] = df[c].mask(df[c].abs() <= 16.0**-65, 0.0)
        where = [f"record {i + 1}" for i in range(len(df))]
    else:
        blank = df.apply(lambda r: all(_blank(v) for v in r), axis=1).to_numpy(bool)
        where = [f"line {i + 2}" for i in np.flatnonzero(~blank)]
        df = df[~blank].reset_index(drop=True)
    if len(df) == 0:
        raise InputError(f"{p}: no data rows (only a header)")
    return df, where


def load_ipd_csv(
    path: str | Path, treatment: str, control: str, endpoint: str = "PFS"
) -> SurvivalIPD:
    """Read a plain CSV with columns arm, time (months), event (1 = event, 0 = censored)."""
    df, where = _read(path, None)
    df.columns = [c.lower() for c in df.columns]
    return from_frame(df, treatment, control, endpoint, str(path), rows=where)


def _months(aval: np.ndarray, raw_unit: pd.Series, src: str, where: Sequence[str]) -> np.ndarray:
    """AVAL converted from its AVALU (DAYS, WEEKS, MONTHS or YEARS; DAY etc. too) to months."""
    unit = [u.upper().removesuffix("S") + "S" for u in _labels(raw_unit, "AVALU", src, where)]
    unknown = ~np.isin(unit, list(_UNITS))
    what = "unknown unit {} (use DAYS, WEEKS, MONTHS or YEARS)"
    _fail_rows(unknown, src, "AVALU", where, lambda i: what.format(_show(raw_unit.iloc[i])))
    mult, div = np.array([_UNITS[u] for u in unit]).T
    return aval * mult / div


def load_adtte(
    path: str | Path, treatment: str, control: str, endpoints: list[str] | None = None
) -> dict[str, SurvivalIPD]:
    """Read an ADaM ADTTE dataset (.csv or .xpt): one `SurvivalIPD` per PARAMCD, in months.

    All endpoints in the file by default (in file order), else the ones asked, in that order.
    """
    p = Path(path)
    df, where = _read(p, (".csv", ".xpt"))
    df.columns = [c.upper() for c in df.columns]
    arm_col = "TRT01P" if "TRT01P" in df.columns else "ARM"
    missing = [c for c in _ADTTE if c not in df.columns]
    if missing := missing + ([] if arm_col in df.columns else ["TRT01P (or ARM)"]):
        columns = ", ".join(df.columns)
        raise InputError(f"{p}: missing ADTTE column(s) {', '.join(missing)}; columns: {columns}")
    paramcd = _labels(df["PARAMCD"], "PARAMCD", str(p), where)
    have = list(dict.fromkeys(paramcd.tolist()))
    endpoints = [endpoints] if isinstance(endpoints, str) else endpoints
    asked = have if endpoints is None else list(dict.fromkeys(endpoints))
    absent = [e for e in asked if e not in have]
    if absent or not asked:
        raise InputError(
            f"{p}: PARAMCD {', '.join(absent) or '(none asked)'} not in the file; "
            f"PARAMCD values present: {', '.join(have)}"
        )
    sel = np.isin(paramcd, asked)
    df, line, paramcd = df[sel].reset_index(drop=True), np.array(where)[sel], paramcd[sel]
    usubjid = _labels(df["USUBJID"], "USUBJID", str(p), line)
    arm = _labels(df[arm_col], arm_col, str(p), line)
    _need_arms(arm, treatment, control, str(p), f"is not in column '{arm_col}' of the file")
    where = np.array([f"{w} (USUBJID {u})" for w, u in zip(line, usubjid, strict=True)])
    out = {}
    for ep in asked:
        m = paramcd == ep
        src, rows, sub = f"{p} [PARAMCD={ep}]", where[m].tolist(), df[m]
        ids = pd.Series(usubjid[m])
        dup = ids.duplicated(keep=False).to_numpy()
        if dup.any():
            twice = ids[dup].iloc[0]
            lines = " and ".join(line[m][(ids == twice).to_numpy()])
            raise InputError(f"{src}: USUBJID '{twice}' appears more than once ({lines})")
        aval = _numbers(sub["AVAL"], "AVAL", src, rows, positive=True)
        cnsr = _codes(sub["CNSR"], "CNSR", src, rows, "1 = censored, 0 = event")
        months = _months(aval, sub["AVALU"], src, rows)
        frame = pd.DataFrame({"arm": arm[m], "time": months, "event": 1 - cnsr})
        names = {"arm": arm_col, "time": "AVAL", "event": "CNSR"}
        out[ep] = from_frame(frame, treatment, control, ep, src, rows=rows, columns=names)
    return out


MIN_PATIENTS_PER_ARM = 2  # one patient per arm carries no comparison a model could check


def check_fittable(ipd: SurvivalIPD) -> SurvivalIPD:
    """`ipd` if each arm has enough patients to fit a survival comparison; else InputError."""
    for role, label in (("treatment", ipd.treatment), ("control", ipd.control)):
        n = int((ipd.arm == label).sum())
        if n < MIN_PATIENTS_PER_ARM:
            raise InputError(
                f"{ipd.source}: {role} arm '{label}' has only {n} patient(s); a survival "
                f"comparison needs at least {MIN_PATIENTS_PER_ARM} patients per arm"
            )
    return ipd
