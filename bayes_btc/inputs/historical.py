"""Earlier trials' control arms (historical data): schema, loader and the MAP model inputs.

A historical file declares what it is about: the `regimen` its arms received (with
`regimen_aliases`, e.g. abbreviations), the `population`, and the endpoint names it informs
with what each is (`[endpoints] ORR = "rate"`, `PFS = "median"`). Every trial then gives, per
declared endpoint, a rate as counts (`responders` of `denominator`) or as a printed percent
with its denominator, or a median in months; each figure with its source quote and basis
(published, derived or assumed). The bundled file (`data/historical_gp.toml`) holds earlier
phase III control arms in advanced biliary tract cancer.

Rates become binomial counts; medians become log medians (months) with a standard error from
the published CI, else from the number of events, else from the arm size as if every patient
had an event (the smallest SE an exponential model allows; `se_basis` says which).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
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
    """A rate (e.g. response): `responders` of `denominator`, or a printed percent (a string, to
    keep its precision) of `denominator`. `denominator_basis` says whether the denominator is
    published or assumed, `denominator_note` how."""

    kind: Literal["rate"] = "rate"
    percent: str | None = None
    responders: Annotated[int, Field(ge=0)] | None = None
    denominator: Annotated[int, Field(gt=0)]
    denominator_basis: Basis = "published"
    denominator_note: str = ""

    @field_validator("percent")
    @classmethod
    def _percent(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            x = Decimal(v)
        except InvalidOperation:
            raise ValueError(f"percent must be a number written as a string, got {v!r}") from None
        if not 0 <= x <= 100:
            raise ValueError(f"percent must be within 0-100, got {v}")
        return v

    @model_validator(mode="after")
    def _one_form(self) -> Response:
        if (self.percent is None) == (self.responders is None):
            raise ValueError("give either 'responders' (a count) or 'percent', with 'denominator'")
        if self.responders is not None and self.responders > self.denominator:
            raise ValueError(f"responders {self.responders} exceed the denominator")
        if self.denominator_basis != "published" and not self.denominator_note:
            raise ValueError("an assumed or derived denominator needs 'denominator_note'")
        return self

    @property
    def events(self) -> int:
        """Responders: the count, or the printed percent x denominator rounded."""
        if self.responders is not None:
            return self.responders
        assert self.percent is not None
        return round(float(Decimal(self.percent)) / 100 * self.denominator)

    @property
    def described(self) -> str:
        """E.g. '18.7% of 344 (assumed: ...)' or '30/120 responders'."""
        den = ""
        if self.denominator_note or self.denominator_basis != "published":
            den = f" ({self.denominator_basis} denominator: {self.denominator_note})"
        if self.responders is not None:
            return f"{self.responders}/{self.denominator} responders{den}"
        return f"{self.percent}% of {self.denominator}{den}"


class Median(Sourced):
    """A median survival time (months), with its 95% CI and event count when published."""

    kind: Literal["median"] = "median"
    median: Annotated[float, Field(gt=0)]
    ci: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] | None = None
    events: Annotated[int, Field(gt=0)] | None = None


Figure = Annotated[Response | Median, Field(discriminator="kind")]
EndpointData = Literal["rate", "median"]
_TRIAL_FIELDS = ("name", "reference", "url", "n")


class HistoricalTrial(_Strict):
    name: str
    reference: Annotated[str, Field(min_length=1)]
    url: str
    n: Count
    figures: dict[str, Figure] = {}  # endpoint name (as declared) -> its figure

    def figure(self, endpoint: str) -> Response | Median | None:
        return self.figures.get(endpoint)


class Excluded(_Strict):
    trial: str
    figure: str
    reason: str


class HistoricalData(_Strict):
    """The file: what it declares (regimen, population, endpoints) and the trials."""

    title: str = ""
    regimen: Annotated[str, Field(min_length=1)]
    regimen_aliases: list[str] = []
    population: Annotated[str, Field(min_length=1)]
    endpoints: Annotated[dict[str, EndpointData], Field(min_length=1)]
    trial: Annotated[list[HistoricalTrial], Field(min_length=2)]
    excluded: list[Excluded] = []

    @model_validator(mode="before")
    @classmethod
    def _figures(cls, raw: object) -> object:
        """Every key of a trial besides name, reference, url and n is a figure of a declared
        endpoint, validated as that endpoint's kind (`rate` or `median`)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("endpoints"), dict):
            return raw
        declared = raw["endpoints"]
        trials = []
        for t in raw.get("trial", []):
            if not isinstance(t, dict):
                trials.append(t)
                continue
            figures = dict(t.get("figures", {}))
            for key in [k for k in t if k not in (*_TRIAL_FIELDS, "figures")]:
                if key not in declared:
                    raise ValueError(
                        f"trial {t.get('name', '?')!r} has figures for {key!r}, which the "
                        f"file's [endpoints] does not declare (it declares {sorted(declared)})"
                    )
                fig = t[key]
                figures[key] = {"kind": declared[key], **fig} if isinstance(fig, dict) else fig
            trials.append({k: v for k, v in t.items() if k in _TRIAL_FIELDS} | {"figures": figures})
        return {**raw, "trial": trials}

    def informs(self, endpoint: str) -> EndpointData | None:
        """What the file holds for a declared endpoint name ('rate' or 'median'), else None."""
        return self.endpoints.get(endpoint)


@dataclass(frozen=True)
class BinomialSeries:
    """Responders out of a denominator per historical trial (one endpoint)."""

    endpoint: str
    trials: list[str]
    events: list[int]
    n: list[int]
    notes: list[str]
    assumed: list[bool]  # the figure or its denominator is assumed, not published


@dataclass(frozen=True)
class LogMedianSeries:
    """Log median survival (log months) and its SE per historical trial (one endpoint)."""

    endpoint: str
    trials: list[str]
    log_median: list[float]
    se: list[float]
    se_basis: list[str]


def binomial_series(data: HistoricalData, endpoint: str) -> BinomialSeries | None:
    """Responders (counts, or the printed percent x denominator, rounded) per trial; None
    with fewer than 2 trials."""
    rows = [(t.name, r) for t in data.trial if isinstance(r := t.figure(endpoint), Response)]
    if len(rows) < 2:
        return None
    return BinomialSeries(
        endpoint,
        [n for n, _ in rows],
        [r.events for _, r in rows],
        [r.denominator for _, r in rows],
        [r.described for _, r in rows],
        [r.basis == "assumed" or r.denominator_basis == "assumed" for _, r in rows],
    )


def log_median_series(data: HistoricalData, endpoint: str) -> LogMedianSeries | None:
    """Log medians with SEs from the 95% CI, else 1/sqrt(events), else 1/sqrt(n)."""
    z = float(stats.norm.isf(0.025))
    names, y, se, basis = [], [], [], []
    for t in data.trial:
        m = t.figure(endpoint)
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
        for name, m in t.figures.items():
            if isinstance(m, Median) and m.ci is not None and not m.ci[0] <= m.median <= m.ci[1]:
                raise InputError(f"{path}: trial {t.name!r}: {name} CI {m.ci} excludes the median")
    return data, hashlib.sha256(Path(path).read_bytes()).hexdigest()
