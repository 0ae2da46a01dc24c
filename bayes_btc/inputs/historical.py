"""Earlier trials' control arms (historical data): schema, loader and the MAP model inputs.

The bundled file (`data/historical_gp.toml`) holds the GP arms of earlier phase III trials in
advanced biliary tract cancer, each figure with its source quote and its basis (published,
derived or assumed). Response rates become binomial counts; medians become log medians
(months) with a standard error from the published CI, else from the number of events, else
from the arm size as if every patient had an event (the smallest SE an exponential model
allows; `se_basis` says which).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from scipy import stats

from bayes_btc.errors import InputError, describe_validation_error, read_toml

BUNDLED_HISTORICAL = "historical_gp.toml"
Basis = Literal["published", "derived", "assumed"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict):
    basis: Basis
    source: Annotated[str, Field(min_length=1)]
    note: str = ""


class Count(Sourced):
    value: Annotated[int, Field(gt=0)]


class Response(Sourced):
    """A response rate as printed (percent, as a string to keep its precision)."""

    percent: str
    denominator: Annotated[int, Field(gt=0)]
    denominator_note: Annotated[str, Field(min_length=1)]

    @field_validator("percent")
    @classmethod
    def _percent(cls, v: str) -> str:
        try:
            x = Decimal(v)
        except InvalidOperation:
            raise ValueError(f"percent must be a number written as a string, got {v!r}") from None
        if not 0 <= x <= 100:
            raise ValueError(f"percent must be within 0-100, got {v}")
        return v


class Median(Sourced):
    """A median survival time (months), with its 95% CI and event count when published."""

    median: Annotated[float, Field(gt=0)]
    ci: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] | None = None
    events: Annotated[int, Field(gt=0)] | None = None


class HistoricalTrial(_Strict):
    name: str
    reference: Annotated[str, Field(min_length=1)]
    url: str
    n: Count
    ORR: Response | None = None
    PFS: Median | None = None
    OS: Median | None = None


class Excluded(_Strict):
    trial: str
    figure: str
    reason: str


class HistoricalData(_Strict):
    title: str = ""
    trial: Annotated[list[HistoricalTrial], Field(min_length=2)]
    excluded: list[Excluded] = []


@dataclass(frozen=True)
class BinomialSeries:
    """Responders out of a denominator per historical trial (one endpoint)."""

    endpoint: str
    trials: list[str]
    events: list[int]
    n: list[int]
    notes: list[str]


@dataclass(frozen=True)
class LogMedianSeries:
    """Log median survival (log months) and its SE per historical trial (one endpoint)."""

    endpoint: str
    trials: list[str]
    log_median: list[float]
    se: list[float]
    se_basis: list[str]


def binomial_series(data: HistoricalData, endpoint: str) -> BinomialSeries | None:
    """Responders = the printed percent x denominator, rounded; None with fewer than 2 trials."""
    rows = [
        (t.name, r) for t in data.trial if isinstance(r := getattr(t, endpoint, None), Response)
    ]
    if len(rows) < 2:
        return None
    events = [round(float(Decimal(r.percent)) / 100 * r.denominator) for _, r in rows]
    notes = [f"{r.percent}% of {r.denominator} ({r.denominator_note})" for _, r in rows]
    return BinomialSeries(
        endpoint, [n for n, _ in rows], events, [r.denominator for _, r in rows], notes
    )


def log_median_series(data: HistoricalData, endpoint: str) -> LogMedianSeries | None:
    """Log medians with SEs from the 95% CI, else 1/sqrt(events), else 1/sqrt(n)."""
    z = float(stats.norm.isf(0.025))
    names, y, se, basis = [], [], [], []
    for t in data.trial:
        m = getattr(t, endpoint, None)
        if not isinstance(m, Median):
            continue
        names.append(t.name)
        y.append(math.log(m.median))
        if m.ci is not None:
            se.append(math.log(m.ci[1] / m.ci[0]) / (2 * z))
            basis.append("95% CI of the median")
        elif m.events is not None:
            se.append(m.events**-0.5)
            basis.append(f"1/sqrt({m.events} events)")
        else:
            se.append(t.n.value**-0.5)
            basis.append(f"1/sqrt(n = {t.n.value}): assumes every patient had an event")
    if len(names) < 2:
        return None
    return LogMedianSeries(endpoint, names, y, se, basis)


def load_historical(path: str | Path | None = None) -> tuple[HistoricalData, str]:
    """Load and validate historical-trial data; None (or 'bundled') loads the bundled file.
    Returns (data, sha256 of the file)."""
    if path is None or str(path) == "bundled":
        ref = resources.files("bayes_btc.data") / BUNDLED_HISTORICAL
        with resources.as_file(ref) as p:
            return load_historical(p)
    raw = read_toml(path, "historical data")
    try:
        data = HistoricalData.model_validate(raw)
    except ValidationError as err:
        raise describe_validation_error(path, err) from None
    for t in data.trial:
        for name in ("PFS", "OS"):
            m = getattr(t, name)
            if m is not None and m.ci is not None and not m.ci[0] <= m.median <= m.ci[1]:
                raise InputError(f"{path}: trial {t.name!r}: {name} CI {m.ci} excludes the median")
    return data, hashlib.sha256(Path(path).read_bytes()).hexdigest()
