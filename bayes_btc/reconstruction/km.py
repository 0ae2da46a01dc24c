"""Reconstruct individual patient data from digitised Kaplan-Meier curves (Guyot et al. 2012).

Guyot P, Ades AE, Ouwens MJ, Welton NJ. Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
2012;12:9. Events come from the drop in the digitised survival at each point; censoring is
fixed by the published numbers at risk: within each risk-table interval the number censored
is iterated until the reconstructed number at risk at the next table time matches, with the
censorings spread evenly over the interval. The last interval uses the total number of
events if given, else the average censoring rate so far. Without a risk table only the
initial n (and optionally the total events) constrain censoring. Times are in months.

Beyond the published R code: a point is added at each risk-table time the digitiser missed
(the step value there), events are kept within 0..n at risk, a search that oscillates keeps
its closest value, and an unreachable published number at risk is replaced by the
reconstructed one (as the R code does), so every patient is accounted for exactly once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_btc.errors import InputError

KM_COLUMNS = ("arm", "time", "survival")
RISK_COLUMNS = ("arm", "time", "n_at_risk")
MAX_ITER = 100  # the censoring search converges in a few steps; this only stops oscillation


def _validate(df: pd.DataFrame, source: str, columns: tuple[str, ...], line0: int) -> pd.DataFrame:
    """Check columns and values; returns typed columns. Row i is reported as line i + line0."""
    df = df.rename(columns=lambda c: str(c).strip())
    missing = [c for c in columns if c not in df.columns]
    if missing:
        need = ", ".join(columns)
        raise InputError(f"{source}: missing column(s) {', '.join(missing)} (need {need})")
    if len(df) == 0:
        raise InputError(f"{source}: no data rows")
    unit = "line" if line0 == 2 else "row"
    out = pd.DataFrame(index=range(len(df)))
    for col in columns:
        raw = df[col].reset_index(drop=True)
        blank = raw.isna() | raw.astype(str).str.strip().eq("")
        if blank.any():
            i = int(np.argmax(blank))
            raise InputError(f"{source}: {unit} {i + line0}: column '{col}': missing value")
        if col == "arm":
            out[col] = raw.astype(str).str.strip()
            continue
        num = pd.to_numeric(raw, errors="coerce")
        bad = ~np.isfinite(num.to_numpy(float))
        bad |= num < 0
        if col == "survival":
            bad |= num > 1
        if col == "n_at_risk":
            bad |= num != np.round(num)
        if bad.any():
            i = int(np.argmax(bad))
            v, why = raw[i], "not a finite number"
            if np.isfinite(num[i]):
                why = {"time": "negative time", "n_at_risk": "not a count (integer >= 0)"}.get(
                    col, "outside 0-1 (give survival as a proportion, not a percentage)"
                )
            raise InputError(f"{source}: {unit} {i + line0}: column '{col}': {why}: {v!r}")
        out[col] = num.astype(int) if col == "n_at_risk" else num.astype(float)
    if "n_at_risk" in columns:  # each arm's table: from time 0, times up, numbers not up
        arms = out["arm"] if "arm" in out else pd.Series("", index=out.index)
        for arm, g in out.groupby(arms, sort=False):
            t, n = g["time"].to_numpy(), g["n_at_risk"].to_numpy()
            why = [f"risk table must start at time 0 with n_at_risk > 0, not ({t[0]:g}, {n[0]})"]
            why = why if t[0] != 0 or n[0] <= 0 else [""]
            why += [
                f"risk-table time {t[j]:g} is not after the previous time {t[j - 1]:g}"
                if t[j] <= t[j - 1]
                else f"n_at_risk {n[j]} exceeds {n[j - 1]} at the previous time (numbers at "
                "risk cannot increase)"
                if n[j] > n[j - 1]
                else ""
                for j in range(1, len(t))
            ]
            for i, w in zip(g.index, why, strict=True):
                if w:
                    who = f"arm '{arm}': " if arm else ""
                    raise InputError(f"{source}: {unit} {i + line0}: {who}{w}")
    return out


def _read_csv(path: str | Path, what: str, columns: tuple[str, ...]) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} not found: {p}")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read as CSV: {' '.join(str(exc).split())}") from None
    return _validate(df, str(p), columns, line0=2)


MAX_RISE = 0.05  # survival rises above this are refused, smaller ones cleaned as noise


def load_km_csv(path: str | Path) -> pd.DataFrame:
    """Digitised curves: columns arm, time (months, >= 0), survival (proportion in 0-1)."""
    return _read_csv(path, "KM curve file", KM_COLUMNS)


def load_risk_csv(path: str | Path) -> pd.DataFrame:
    """Published numbers at risk: arm, time (months, from 0, increasing), n_at_risk."""
    return _read_csv(path, "risk table file", RISK_COLUMNS)


def clean_km(km: pd.DataFrame) -> pd.DataFrame:
    """One arm's digitised points as a valid KM step function, starting at (0, 1).

    Digitisers produce noise: S slightly outside 0-1, S rising, two clicks at one time (top
    and bottom of a drop). Survival is clipped to [0, 1] and made non-increasing (running
    minimum); of equal times the lowest S is kept, so time is strictly increasing. Readings at
    time 0 (or before) are replaced by (0, 1).
    """
    t = km["time"].to_numpy(float)
    s = np.clip(km["survival"].to_numpy(float), 0.0, 1.0)
    keep = (t > 0) & np.isfinite(t) & ~np.isnan(s)
    t = np.concatenate([[0.0], t[keep]])
    s = np.concatenate([[1.0], s[keep]])
    order = np.argsort(t, kind="stable")
    t, s = t[order], np.minimum.accumulate(s[order])
    last_of_time = np.append(t[1:] != t[:-1], True)  # the lowest S after the running minimum
    return pd.DataFrame({"time": t[last_of_time], "survival": s[last_of_time]})


def _refuse_rising(km: pd.DataFrame, who: str) -> None:
    """Digitising noise makes S rise a little (cleaned by `clean_km`); a rise of more than
    `MAX_RISE` above an earlier reading means the wrong curve (e.g. cumulative incidence)."""
    pts = km[km["time"] > 0].sort_values("time", kind="stable")
    t, s = pts["time"].to_numpy(float), pts["survival"].to_numpy(float)
    if len(s) < 2:
        return
    low = np.minimum.accumulate(s)
    i = int(np.argmax(s - low))
    if s[i] - low[i] > MAX_RISE:
        j = int(np.flatnonzero(s[: i + 1] == low[i])[0])
        raise InputError(
            f"{who}: survival rises from {s[j]:g} at {t[j]:g} months to {s[i]:g} at "
            f"{t[i]:g} months; a Kaplan-Meier curve never rises (was 1 - S, or another "
            "curve, digitised?)"
        )


class _Guyot:
    """Events d at each point, censorings cen in the gap after it, numbers at risk nhat."""

    def __init__(self, t: np.ndarray, s: np.ndarray) -> None:
        self.t, self.s = t, s
        self.d = np.zeros(len(t), dtype=int)
        self.cen = np.zeros(len(t), dtype=int)
        self.nhat = np.zeros(len(t) + 1, dtype=int)
        self.km = np.ones(len(t))

    def run(self, seg: tuple[int, int, float, int, int], n_cens: int) -> int:
        """Points lo..hi of seg = (lo, hi, t_end, n at risk at lo, last point with an event):
        n_cens censorings spread evenly over (t_lo, t_end), events from the drop of S relative
        to the reconstructed KM at the last event. Returns the new last event point."""
        lo, hi, t_end, n_start, last = seg
        t, hi_c = self.t, min(hi, len(self.t) - 2)  # gaps [t_k, t_k+1) that can hold censorings
        self.cen[lo : hi + 1] = 0
        if n_cens > 0 and hi_c >= lo:
            c = t[lo] + np.arange(1, n_cens + 1) * (t_end - t[lo]) / (n_cens + 1)
            k = np.clip(np.searchsorted(t[lo : hi_c + 1], c, side="right") - 1, 0, hi_c - lo)
            self.cen[lo : hi_c + 1] = np.bincount(k, minlength=hi_c - lo + 1)
        self.nhat[lo] = n_start
        for k in range(lo, hi + 1):
            ref, n = self.km[last], self.nhat[k]
            d = 0
            if k > 0 and n > 0 and ref > 0:
                d = int(np.clip(np.round(n * (1 - self.s[k] / ref)), 0, n))
            self.d[k] = d
            self.km[k] = ref * (1 - d / n) if d else ref
            self.cen[k] = min(self.cen[k], n - d)  # the number at risk cannot go negative
            self.nhat[k + 1] = n - d - self.cen[k]
            if d:
                last = k
        return last

    def fit(self, seg: tuple[int, int, float, int, int], n_cens: int, target: int, at: int) -> int:
        """Guyot's search: add (reconstructed - published) to the number censored until they
        agree; the count is nhat[at] (number at risk at the next table time) or, with at = -1,
        the total events. Stops at 0 censored if there are still too few; if the search
        oscillates it keeps the closest value. Returns the new last event point."""
        tried: dict[int, int] = {}
        for _ in range(MAX_ITER):
            n_cens = max(n_cens, 0)
            last = self.run(seg, n_cens)
            gap = int(self.nhat[at] if at >= 0 else self.d.sum()) - target
            tried.setdefault(n_cens, abs(gap))
            if gap == 0 or (gap < 0 and n_cens == 0) or max(n_cens + gap, 0) in tried:
                break
            n_cens += gap
        best = min(tried, key=lambda c: (tried[c], c))
        return last if best == n_cens else self.run(seg, best)


def _guyot(
    t: np.ndarray, s: np.ndarray, t_risk: np.ndarray, n_risk: np.ndarray, total: int | None
) -> _Guyot:
    """The algorithm on clean points (t, s) that include every risk-table time."""
    g = _Guyot(t, s)
    lower = np.searchsorted(t, t_risk)
    last, n_start, censored = 0, int(n_risk[0]), 0
    for i in range(len(t_risk) - 1):
        lo, nxt, target = lower[i], lower[i + 1], int(n_risk[i + 1])
        n_cens = round(n_start * s[nxt] / s[lo] - target) if s[lo] > 0 else 0
        last = g.fit((lo, nxt - 1, t[nxt], n_start, last), n_cens, target, at=nxt)
        # if the published number is unreachable, carry on from the reconstructed one
        n_start = int(g.nhat[nxt])
        censored += int(g.cen[lo:nxt].sum())
    seg = (lower[-1], len(t) - 1, t[-1], n_start, last)
    n_cens = 0
    if len(t_risk) > 1:  # censoring at the average rate of the earlier intervals
        n_cens = min(round(censored * (t[-1] - t_risk[-1]) / t_risk[-1]), n_start)
    g.run(seg, n_cens)
    if total is not None and len(t_risk) > 1 and g.d[: seg[0]].sum() >= total:
        g.d[seg[0] :] = 0  # too many events already: the rest are censored at the end
        g.cen[seg[0] :] = 0
    elif total is not None:
        g.fit(seg, n_cens, total, at=-1)
    return g


def _whole(value: object, who: str, what: str, low: int) -> int:
    """A user-given count as an int, or a one-line InputError."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (v >= low and v.is_integer()):
        raise InputError(f"{who}: {what} must be a whole number >= {low}, got {value!r}")
    return int(v)


def reconstruct_arm(
    km: pd.DataFrame,
    risk: pd.DataFrame | None,
    n0: int | None,
    total_events: int | None,
    *,
    name: str = "",
) -> pd.DataFrame:
    """One arm's patients (time in months, event 0/1) from its digitised curve and either its
    risk table (time, n_at_risk) or the initial number n0; total_events is optional."""
    who = f"arm '{name}'" if name else "KM curve"
    valid = _validate(km, f"{who} KM data", KM_COLUMNS[1:], line0=1)
    _refuse_rising(valid, who)
    pts = clean_km(valid)
    t, s = pts["time"].to_numpy(), pts["survival"].to_numpy()
    if risk is not None:
        risk = _validate(risk, f"{who} risk table", RISK_COLUMNS[1:], line0=1)
        t_risk, n_risk = risk["time"].to_numpy(), risk["n_at_risk"].to_numpy()
        n = int(n_risk[0])
        if n0 is not None and _whole(n0, who, "total n", 1) != n:
            raise InputError(f"{who}: total n {n0} differs from n_at_risk {n} at time 0")
        # Guyot et al. ask for a reading at each table time; if missing, S is the step value
        extra = t_risk[~np.isin(t_risk, t)]
        s = np.concatenate([s, s[np.searchsorted(t, extra, side="right") - 1]])
        t = np.concatenate([t, extra])
        order = np.argsort(t, kind="stable")
        t, s = t[order], s[order]
    elif n0 is None:
        raise InputError(f"{who}: no risk table and no total n (number randomised) given")
    else:
        n = _whole(n0, who, "total n", 1)
        t_risk, n_risk = np.zeros(1), np.array([n])
    total = None if total_events is None else _whole(total_events, who, "total events", 0)
    if total is not None and total > n:
        raise InputError(f"{who}: total events {total} exceed the number of patients {n}")
    g = _guyot(t, s, t_risk, n_risk, total)
    ev = np.repeat(t, g.d)
    cen = np.repeat((t[:-1] + t[1:]) / 2, g.cen[:-1])
    rest = n - len(ev) - len(cen)  # still at risk at the last point: censored there
    times = np.concatenate([ev, cen, np.full(rest, t[-1])])
    events = np.concatenate([np.ones(len(ev), int), np.zeros(len(cen) + rest, int)])
    order = np.lexsort((-events, times))
    return pd.DataFrame({"time": times[order], "event": events[order]})


def _km(times: np.ndarray, events: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Kaplan-Meier estimate of the (times, events) data at the times `at`."""
    ut, d = np.unique(times[events == 1], return_counts=True)
    n = len(times) - np.searchsorted(np.sort(times), ut, side="left")
    surv = np.concatenate([[1.0], np.cumprod(1 - d / n)])
    return surv[np.searchsorted(ut, at, side="right")]


def reconstruct(
    km: pd.DataFrame,
    risk: pd.DataFrame | None,
    total_n: dict[str, int] | None = None,
    total_events: dict[str, int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patient data for every arm (arm, time, event) and a one-row-per-arm accuracy table.

    Accuracy: n, events, the largest |S| gap between the KM of the reconstructed data and the
    cleaned digitised points, and the largest gap to the published numbers at risk (NaN
    without a risk table).
    """
    km = _validate(km, "KM data", KM_COLUMNS, line0=1)
    arms = list(dict.fromkeys(km["arm"]))
    if risk is not None:
        risk = _validate(risk, "risk table", RISK_COLUMNS, line0=1)
        risk_arms = list(dict.fromkeys(risk["arm"]))
        if set(risk_arms) != set(arms):
            raise InputError(
                f"arms differ between the KM data ({', '.join(arms)}) "
                f"and the risk table ({', '.join(risk_arms)})"
            )
    total_n, total_events = total_n or {}, total_events or {}
    for what, given in (("total_n", total_n), ("total_events", total_events)):
        unknown = [str(a) for a in given if a not in arms]
        if unknown:
            raise InputError(
                f"{what}: unknown arm(s) {', '.join(unknown)} (arms in the KM data: "
                f"{', '.join(arms)})"
            )
    ipd, acc = [], []
    for arm in arms:
        arm_km = km[km["arm"] == arm]
        arm_risk = None if risk is None else risk[risk["arm"] == arm]
        one = reconstruct_arm(arm_km, arm_risk, total_n.get(arm), total_events.get(arm), name=arm)
        times, events = one["time"].to_numpy(), one["event"].to_numpy()
        pts = clean_km(arm_km)
        d_s = np.abs(_km(times, events, pts["time"].to_numpy()) - pts["survival"].to_numpy())
        d_r = np.nan
        if arm_risk is not None:
            t_r = arm_risk["time"].to_numpy()
            n_r = len(times) - np.searchsorted(np.sort(times), t_r, side="left")
            d_r = float(np.max(np.abs(n_r - arm_risk["n_at_risk"].to_numpy())))
        ipd.append(one.assign(arm=arm)[["arm", "time", "event"]])
        acc.append((arm, len(one), int(events.sum()), float(d_s.max()), d_r))
    columns = ["arm", "n", "events", "max_abs_delta_S", "max_abs_delta_at_risk"]
    return pd.concat(ipd, ignore_index=True), pd.DataFrame(acc, columns=columns)
