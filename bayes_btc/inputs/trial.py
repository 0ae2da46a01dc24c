"""Published-summary trial specification: schema, loader and the bundled trial.

A trial spec is a TOML file holding what a publication reports (arm sizes, medians, hazard
ratios with their CI and p-value, response and adverse-event percentages), each with the
sentence it was read from. Percentages are kept as written ("39.4") because the audit needs
their reported precision. See `docs/trial-format.md` for the format.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date
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
    evaluable: Annotated[int, Field(gt=0, le=MAX_PATIENTS)] | None = None  # per arm, if printed
    quote: str


class Conduct(_Strict):
    """How long the trial ran, as published (all optional; months or dates)."""

    accrual_months: Annotated[float, Field(gt=0)] | None = None
    median_followup_months: Annotated[float, Field(gt=0)] | None = None
    enrolment_start: date | None = None
    enrolment_end: date | None = None
    data_cutoff: date | None = None
    quote: str = ""
    note: str = ""

    @model_validator(mode="after")
    def _dates_ordered(self) -> Conduct:
        a, b, c = self.enrolment_start, self.enrolment_end, self.data_cutoff
        if a and b and not a < b:
            raise ValueError("enrolment_start must be before enrolment_end")
        if c and ((a and c <= a) or (b and c < b)):
            raise ValueError("data_cutoff must be after enrolment")
        return self


class ReconstructionHints(_Strict):
    """ASSUMED settings for reconstructing this trial (not published); the plan overrides them.
    Ranges are [low, high] of uniform generating priors, in months or per month."""

    accrual_months: tuple[float, float] | None = None
    extra_followup_months: tuple[float, float] | None = None  # cut-off after the last entry
    dropout_per_month: tuple[float, float] | None = None
    median_tolerance: Annotated[float, Field(gt=0)] | None = None  # relative
    median_tolerance_months: Annotated[float, Field(gt=0)] | None = None  # absolute
    note: str = ""


class Landmark(_Strict):
    """Kaplan-Meier survival at a time point, as printed (percent per arm)."""

    months: Annotated[float, Field(gt=0)]
    percent: dict[str, Annotated[float, Field(ge=0, le=100)]]
    quote: str = ""


def parse_p(raw: float | str | None) -> tuple[str, float] | None:
    """('=', p) for an exact p-value, ('<', bound) / ('>', bound) for a printed bound."""
    if raw is None:
        return None
    text = str(raw).strip().replace(" ", "").lower().removeprefix("p")
    op = "="
    for sym, name in (("<=", "<"), (">=", ">"), ("<", "<"), (">", ">"), ("=", "=")):
        if text.startswith(sym):
            op, text = name, text[len(sym) :]
            break
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"p must be a number or a bound such as '<0.001', got {raw!r}") from None
    if not 0 < value <= 1:
        raise ValueError(f"p must be in (0, 1], got {raw!r}")
    return op, value


class Evaluable(_Strict):
    n: Annotated[int, Field(gt=0, le=MAX_PATIENTS)]
    quote: str


class SurvivalSummary(_Strict):
    """A time-to-event endpoint as published: medians (months) and HR (treatment vs control)."""

    label: str
    population: str = "randomised"
    median_months: dict[str, float | str]  # months; "NR" (or inf) = not reached
    not_reached_by_months: Annotated[float, Field(gt=0)] | None = None  # follow-up of an NR
    hr: Annotated[float, Field(gt=0)]
    ci: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]]
    ci_level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    p: float | str | None = None  # 0.021, or a printed bound such as "<0.001"
    events: dict[str, Annotated[int, Field(ge=0)]] | None = None
    events_total: Annotated[int, Field(gt=0)] | None = None  # both arms, when only that is printed
    landmarks: list[Landmark] = []
    median_followup_months: Annotated[float, Field(gt=0)] | None = None
    quote: str
    note: str = ""

    @field_validator("median_months")
    @classmethod
    def _medians(cls, v: dict[str, float | str]) -> dict[str, float]:
        out = {}
        for arm, raw in v.items():
            if isinstance(raw, str) and raw.strip().upper() in ("NR", "NOT REACHED", "INF"):
                out[arm] = math.inf
                continue
            try:
                x = float(raw)
            except ValueError:
                raise ValueError(f'median for arm {arm}: a number or "NR", got {raw!r}') from None
            if not x > 0:
                raise ValueError(f'median for arm {arm} must be > 0 months (or "NR")')
            out[arm] = x
        return out

    @field_validator("p")
    @classmethod
    def _p(cls, v: float | str | None) -> float | str | None:
        parse_p(v)
        return v

    @property
    def p_parsed(self) -> tuple[str, float] | None:
        """('=', p), ('<', bound) or ('>', bound); None when not printed."""
        return parse_p(self.p)

    @property
    def not_reached(self) -> list[str]:
        """Arms whose median was not reached."""
        return [a for a, m in self.median_months.items() if math.isinf(m)]

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
    conduct: Conduct = Conduct()
    reconstruction: ReconstructionHints = ReconstructionHints()
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
            if s.events is not None and set(s.events) != set(roles):
                raise ValueError(f"survival.{name}.events needs exactly the arms {roles}")
            for lm in s.landmarks:
                if set(lm.percent) != set(roles):
                    raise ValueError(f"survival.{name}.landmarks: percent needs the arms {roles}")
            followup = s.median_followup_months or self.conduct.median_followup_months
            if s.not_reached and s.not_reached_by_months is None and followup is None:
                raise ValueError(
                    f"survival.{name}: median not reached for {s.not_reached}; give "
                    "not_reached_by_months (the follow-up it was not reached by)"
                )
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

    def analysed_per_arm(self, endpoint: str) -> tuple[dict[str, int], str]:
        """Patients per arm a survival endpoint was analysed on, and how that was found:
        evaluable per arm when printed, else the evaluable total split as randomised
        (largest remainder; ASSUMED), else the randomised arms."""
        s, roles = self.survival[endpoint], self.arm_order
        rand = {a: self.arms[a].randomised for a in roles}
        if s.population != "evaluable":
            return rand, f"{s.population} patients per arm as published"
        per_arm = {a: self.arms[a].evaluable for a in roles}
        if all(n is not None for n in per_arm.values()):
            return {a: int(n or 0) for a, n in per_arm.items()}, "evaluable per arm as published"
        if self.evaluable is None:
            return rand, "no evaluable count published: the randomised arms are used"
        total, n_rand = self.evaluable.n, sum(rand.values())
        exact = {a: total * rand[a] / n_rand for a in roles}
        out = {a: math.floor(x) for a, x in exact.items()}
        for a in sorted(roles, key=lambda a: out[a] - exact[a])[: total - sum(out.values())]:
            out[a] += 1
        split = "/".join(str(out[a]) for a in roles)
        return out, (
            f"{total} evaluable patients ASSUMED split {split} ({'/'.join(roles)}) in the "
            "proportion randomised; the split per arm is not published"
        )

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
