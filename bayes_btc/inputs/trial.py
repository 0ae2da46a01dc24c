"""Published-summary trial specification: schema, loader and the bundled trial.

A trial spec is a TOML file holding what a publication reports (arm sizes, medians, hazard
ratios with their CI and p-value, response and adverse-event percentages), each with the
sentence it was read from. Percentages are kept as written ("39.4") because the audit needs
their reported precision. See `docs/trial-format.md` for the format.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bayes_btc.errors import describe_validation_error, read_toml

NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
EndpointKind = Literal["survival", "efficacy", "harm"]  # how an endpoint is judged
BUNDLED_TRIAL = "chiecrct_20180167.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrialInfo(_Strict):
    id: str
    title: str
    source: str
    treatment: Annotated[str, Field(pattern=NAME)]
    control: Annotated[str, Field(pattern=NAME)]
    data_level: str = "published summary"


MAX_PATIENTS = 1_000_000  # per arm: beyond any two-arm trial, and bounds the audit's work


class Arm(_Strict):
    label: str
    randomised: Annotated[int, Field(gt=0, le=MAX_PATIENTS)]
    quote: str


class Evaluable(_Strict):
    n: Annotated[int, Field(gt=0, le=MAX_PATIENTS)]
    quote: str


class SurvivalSummary(_Strict):
    """A time-to-event endpoint as published: medians (months) and HR (treatment vs control)."""

    label: str
    population: str = "randomised"
    median_months: dict[str, Annotated[float, Field(gt=0)]]
    hr: Annotated[float, Field(gt=0)]
    ci: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]]
    ci_level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    p: Annotated[float, Field(gt=0, le=1)] | None = None
    quote: str
    note: str = ""

    @model_validator(mode="after")
    def _ci_contains_hr(self) -> SurvivalSummary:
        lo, hi = self.ci
        if not lo < hi:
            raise ValueError(f"CI lower limit {lo} is not below the upper limit {hi}")
        if not lo <= self.hr <= hi:
            raise ValueError(f"CI [{lo}, {hi}] does not contain the HR {self.hr}")
        return self


class BinarySummary(_Strict):
    """A binary endpoint as published: a percentage (as written) or a count per arm."""

    label: str
    kind: Literal["efficacy", "harm"]
    percent: dict[str, str | float] | None = None
    count: dict[str, Annotated[int, Field(ge=0)]] | None = None
    denominator: Literal["randomised"] | dict[str, Annotated[int, Field(gt=0, le=MAX_PATIENTS)]] = (
        "randomised"
    )
    quote: str
    note: str = ""

    @field_validator("percent")
    @classmethod
    def _percent_in_range(cls, v: dict[str, str | float] | None) -> dict[str, str] | None:
        if v is None:
            return None
        out = {}
        for arm, raw in v.items():
            text = str(raw).strip().rstrip("%").strip()
            try:
                d = Decimal(text)
            except InvalidOperation:
                raise ValueError(f"percentage for arm {arm} is not a number: {raw!r}") from None
            if not Decimal(0) <= d <= Decimal(100):
                raise ValueError(f"percentage for arm {arm} is outside 0-100: {text}")
            out[arm] = text
        return out

    @model_validator(mode="after")
    def _one_source(self) -> BinarySummary:
        if (self.percent is None) == (self.count is None):
            raise ValueError("give exactly one of 'percent' or 'count' per binary endpoint")
        return self


class TrialSpec(_Strict):
    trial: TrialInfo
    arms: dict[str, Arm]
    evaluable: Evaluable | None = None
    survival: dict[Annotated[str, Field(pattern=NAME)], SurvivalSummary] = {}
    binary: dict[Annotated[str, Field(pattern=NAME)], BinarySummary] = {}

    @model_validator(mode="after")
    def _arms_consistent(self) -> TrialSpec:
        roles = [self.trial.treatment, self.trial.control]
        if roles[0] == roles[1]:
            raise ValueError("trial.treatment and trial.control must be different arms")
        if set(self.arms) != set(roles):
            raise ValueError(
                f"arms {sorted(self.arms)} must be exactly the treatment and control {roles}"
            )
        for name, s in self.survival.items():
            if set(s.median_months) != set(roles):
                raise ValueError(f"survival.{name}.median_months needs exactly the arms {roles}")
        for name, b in self.binary.items():
            for field in ("percent", "count"):
                given = getattr(b, field)
                if given is not None and set(given) != set(roles):
                    raise ValueError(f"binary.{name}.{field} needs exactly the arms {roles}")
            if isinstance(b.denominator, dict) and set(b.denominator) != set(roles):
                raise ValueError(f"binary.{name}.denominator needs exactly the arms {roles}")
            if b.count is not None:
                for arm in roles:
                    if b.count[arm] > self.denominator(name, arm):
                        raise ValueError(f"binary.{name}.count for {arm} exceeds its denominator")
        if not self.survival and not self.binary:
            raise ValueError("the trial reports no survival or binary endpoint")
        self._percent_not_fractions()
        return self

    def _percent_not_fractions(self) -> None:
        """Refuse a spec whose every percentage is below 1 (fractions written for percents:
        0.814 for 81.4%), when at least one is non-zero."""
        given = [
            (name, arm, v)
            for name, b in self.binary.items()
            for arm, v in (b.percent or {}).items()
        ]
        if (
            given
            and all(Decimal(v) < 1 for _, _, v in given)
            and any(Decimal(v) > 0 for _, _, v in given)
        ):
            name, arm, v = max(given, key=lambda g: Decimal(g[2]))
            raise ValueError(
                f"every percentage is below 1 (binary.{name}.percent {arm} = {v}): "
                f"percentages are written 0-100 (e.g. {Decimal(v) * 100:f} for {v} as a "
                "fraction); if they really are below 1%, give counts instead ('count')"
            )

    @property
    def arm_order(self) -> tuple[str, str]:
        """(treatment, control) labels."""
        return self.trial.treatment, self.trial.control

    def kind(self, endpoint: str) -> EndpointKind:
        """survival, efficacy (higher is better) or harm (lower is better)."""
        return "survival" if endpoint in self.survival else self.binary[endpoint].kind

    def denominator(self, endpoint: str, arm: str) -> int:
        """Patients the percentage of a binary endpoint is taken over, for one arm."""
        den = self.binary[endpoint].denominator
        return self.arms[arm].randomised if den == "randomised" else den[arm]


def load_trial(path: str | Path | None = None) -> tuple[TrialSpec, str]:
    """Load and validate a trial spec; None loads the bundled trial. Returns (spec, sha256)."""
    if path is None:
        ref = resources.files("bayes_btc.data") / BUNDLED_TRIAL
        with resources.as_file(ref) as p:
            return load_trial(p)
    raw = read_toml(path, "trial spec")
    try:
        spec = TrialSpec.model_validate(raw)
    except ValidationError as err:
        raise describe_validation_error(path, err) from None
    return spec, hashlib.sha256(Path(path).read_bytes()).hexdigest()
