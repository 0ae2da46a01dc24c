"""The analysis plan (pre-specified SAP): schema, loader and prior resolution.

A plan is a TOML file (`models/default.toml` is the default) with the endpoints, the
non-inferiority margins and decision threshold, the named priors and the sampler settings.
It is validated in full before any model is built, so a mistake costs no sampling time.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
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
from bayes_btc.inputs.oc_settings import OCSettings
from bayes_btc.inputs.trial import EndpointKind
from bayes_btc.priors.mixtures import BetaMixture, NormalMixture

DEFAULT_PLAN = "default_plan.toml"  # package-data link to models/default.toml

Pos = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Claim = Literal["non-inferior", "superior"]


class Margins(_Strict):
    """Margins per endpoint kind, overridable per endpoint (`per_endpoint`, HR or rate
    difference by the endpoint's kind). HR (treatment vs control) upper bound; rate
    difference (treatment - control) lower bound for efficacy, upper bound for harm. A margin
    on the treatment's side of no difference asks for superiority by that much: HR <= 1
    (e.g. 0.8), an efficacy difference >= 0 (e.g. +0.10), a harm difference <= 0."""

    hr: Annotated[float, Field(gt=0)] = 1.3
    efficacy_rate_diff: Annotated[float, Field(gt=-1, lt=1)] = -0.10
    harm_rate_diff: Annotated[float, Field(gt=-1, lt=1)] = 0.10
    per_endpoint: dict[str, float] = {}

    def of(self, kind: EndpointKind, endpoint: str | None = None) -> float:
        """The margin of an endpoint (its own if the plan gives one, else its kind's)."""
        if endpoint is not None and endpoint in self.per_endpoint:
            m = self.per_endpoint[endpoint]
            ok = m > 0 if kind == "survival" else -1 < m < 1
            if not ok:
                need = "an HR > 0" if kind == "survival" else "a rate difference in (-1, 1)"
                raise InputError(f"plan margins.per_endpoint.{endpoint}: {m:g} is not {need}")
            return m
        return {"survival": self.hr, "efficacy": self.efficacy_rate_diff}.get(
            kind, self.harm_rate_diff
        )

    @staticmethod
    def claim(kind: EndpointKind, margin: float) -> Claim:
        """What reaching the margin shows: 'superior' when the margin lies on the treatment's
        side of no difference (HR <= 1, efficacy >= 0, harm <= 0), else 'non-inferior'."""
        superior = {"survival": margin <= 1, "efficacy": margin >= 0, "harm": margin <= 0}
        return "superior" if superior[kind] else "non-inferior"


class Grid(_Strict):
    start: float = Field(alias="from")
    stop: float = Field(alias="to")
    step: Pos

    @model_validator(mode="after")
    def _ordered(self) -> Grid:
        if not self.start < self.stop:
            raise ValueError(f"grid 'from' ({self.start}) must be below 'to' ({self.stop})")
        return self

    def values(self) -> np.ndarray:
        n = round((self.stop - self.start) / self.step)
        return np.round(self.start + self.step * np.arange(n + 1), 10)


class MarginGrid(_Strict):
    hr: Grid = Grid.model_validate({"from": 1.0, "to": 2.0, "step": 0.05})
    efficacy_rate_diff: Grid = Grid.model_validate({"from": -0.2, "to": 0.0, "step": 0.01})
    harm_rate_diff: Grid = Grid.model_validate({"from": 0.0, "to": 0.2, "step": 0.01})

    def of(self, kind: EndpointKind) -> np.ndarray:
        """The margins of the P(NI) curve for an endpoint kind."""
        grid = {"survival": self.hr, "efficacy": self.efficacy_rate_diff}.get(
            kind, self.harm_rate_diff
        )
        return grid.values()


HistoricalRef = Literal["historical", "historical_robust"]
HISTORICAL_REFS: tuple[str, ...] = ("historical", "historical_robust")


def _mixture_lengths(weights: list[float] | None, *params: float | list[float]) -> int:
    """Number of components; lists must all have one length, and weights need lists."""
    lists = [p for p in params if isinstance(p, list)]
    if weights is None:
        if lists:
            raise ValueError("a mixture needs 'weights' as well as lists of parameters")
        return 1
    if len(lists) != len(params) or any(len(p) != len(weights) for p in lists):
        raise ValueError("mixture 'weights' and every parameter must be lists of one length")
    if abs(sum(weights) - 1.0) > 1e-6:
        raise ValueError(f"mixture weights must sum to 1, got {sum(weights):g}")
    return len(weights)


def _as_list(x: float | list[float]) -> list[float]:
    return list(x) if isinstance(x, list) else [x]


class LogHRPrior(_Strict):
    """Prior on the log-HR: Normal `mean`/`sd`; a centre with a tail statement; or a normal
    mixture (`weights`, `means`, `sds`). `control_median` adds the historical MAP prior on the
    control arm's median to the survival models fitted to patient-level data."""

    description: str = ""
    mean: float | None = None
    sd: Pos | None = None
    centre_hr: Pos | None = None
    tail_hr: Pos | None = None
    tail_prob: Annotated[float, Field(gt=0, lt=0.5)] | None = None
    weights: list[Pos] | None = None
    means: list[float] | None = None
    sds: list[Pos] | None = None
    control_median: HistoricalRef | None = None

    @model_validator(mode="after")
    def _one_form(self) -> LogHRPrior:
        direct = self.mean is not None and self.sd is not None
        tail = None not in (self.centre_hr, self.tail_hr, self.tail_prob)
        mixture = None not in (self.weights, self.means, self.sds)
        if direct + tail + mixture != 1:
            raise ValueError(
                "give either 'mean' and 'sd', or 'centre_hr', 'tail_hr', 'tail_prob', or "
                "'weights', 'means', 'sds'"
            )
        if tail and self.centre_hr == self.tail_hr:
            raise ValueError("'tail_hr' must differ from 'centre_hr'")
        if mixture:
            assert self.means is not None and self.sds is not None
            _mixture_lengths(self.weights, self.means, self.sds)
        return self

    @property
    def mixture(self) -> NormalMixture:
        """The prior on the log-HR scale as a normal mixture (one component unless a mixture)."""
        if self.weights is not None and self.means is not None and self.sds is not None:
            return NormalMixture(tuple(self.weights), tuple(self.means), tuple(self.sds))
        if self.mean is not None and self.sd is not None:
            return NormalMixture.single(self.mean, self.sd)
        assert self.centre_hr and self.tail_hr and self.tail_prob
        z = stats.norm.isf(self.tail_prob)
        sd = float(abs(math.log(self.centre_hr / self.tail_hr)) / z)
        return NormalMixture.single(math.log(self.centre_hr), sd)

    @property
    def normal(self) -> tuple[float, float]:
        """(mean, sd) on the log-HR scale (a mixture's overall mean and SD)."""
        m = self.mixture
        return float(m.mean()), float(m.sd())


class BetaSpec(_Strict):
    """Beta(a, b) on a rate, or a Beta mixture: `weights` with lists `a` and `b`."""

    a: Pos | list[Pos]
    b: Pos | list[Pos]
    weights: list[Pos] | None = None

    @model_validator(mode="after")
    def _lengths(self) -> BetaSpec:
        _mixture_lengths(self.weights, self.a, self.b)
        return self

    @property
    def mixture(self) -> BetaMixture:
        a, b = _as_list(self.a), _as_list(self.b)
        return BetaMixture(tuple(self.weights or [1.0]), tuple(a), tuple(b))


class RatePrior(_Strict):
    """Prior on each arm's rate: one Beta (or Beta mixture) for both arms (`a`, `b`, optional
    `weights`), or one per arm (`treatment`, `control`). The control arm may take the
    historical MAP prior (`control = "historical"` or `"historical_robust"`), which applies to
    the endpoints with historical data only."""

    description: str = ""
    a: Pos | list[Pos] | None = None
    b: Pos | list[Pos] | None = None
    weights: list[Pos] | None = None
    treatment: BetaSpec | None = None
    control: BetaSpec | HistoricalRef | None = None

    @model_validator(mode="after")
    def _one_form(self) -> RatePrior:
        both = self.a is not None and self.b is not None
        per_arm = self.treatment is not None and self.control is not None
        if both == per_arm:
            raise ValueError("give either 'a' and 'b' (both arms), or 'treatment' and 'control'")
        if both:
            BetaSpec(a=self.a, b=self.b, weights=self.weights)  # type: ignore[arg-type]
        return self

    def arm_priors(self) -> tuple[BetaMixture, BetaMixture | str]:
        """(treatment, control) priors; the control's may name a historical MAP prior."""
        if self.treatment is not None and self.control is not None:
            c = self.control if isinstance(self.control, str) else self.control.mixture
            return self.treatment.mixture, c
        assert self.a is not None and self.b is not None
        both = BetaSpec(a=self.a, b=self.b, weights=self.weights).mixture
        return both, both

    @property
    def simple_beta(self) -> tuple[float, float] | None:
        """(a, b) when both arms have the same single Beta prior, else None."""
        t, c = self.arm_priors()
        if t == c and isinstance(t, BetaMixture) and t.n_components == 1:
            return t.a[0], t.b[0]
        return None


class Priors(_Strict):
    log_hr: dict[str, LogHRPrior]
    rate: dict[str, RatePrior]


class HistoricalSettings(_Strict):
    """Meta-analytic-predictive (MAP) priors for the control arm from earlier trials."""

    data: str = Field("bundled", description="'bundled' or a path to a historical-trials TOML")
    arm: str | None = Field(
        None, description="the trial arm (its control) the priors are for; set: mismatches refused"
    )
    arm_regimen: str | None = Field(
        None, description="that arm's regimen, when neither its id nor its label names it"
    )
    endpoints: dict[str, str] | None = Field(
        None, description="trial endpoint -> the endpoint name in the data file it borrows from"
    )
    robust_weight: Annotated[float, Field(gt=0, lt=1)] = 0.2
    tau_scale_logit: Pos = 1.0
    tau_scale_log_median: Pos = 0.5
    vague_log_median_sd: Pos = 1.0
    max_components: Annotated[int, Field(ge=1, le=5)] = 3
    chains: Annotated[int, Field(ge=1, le=64)] = 4
    draws: Annotated[int, Field(ge=100)] = 5000
    target_accept: Annotated[float, Field(gt=0.5, lt=1)] = 0.99
    sampler: Literal["exact", "nuts"] = Field(
        "exact", description="exact independent draws by quadrature, or NUTS (as a check)"
    )


class Sampler(_Strict):
    chains: Annotated[int, Field(ge=1, le=64)] = 4
    cores: Annotated[int, Field(ge=1, le=64)] = 2
    tune: Annotated[int, Field(ge=10)] = 1000
    draws: Annotated[int, Field(ge=10)] = 10000
    seed: Annotated[int, Field(ge=0)] = 20180167
    target_accept: Annotated[float, Field(gt=0.5, lt=1)] = 0.8
    conjugate: Literal["exact", "mcmc"] = Field(
        "exact", description="conjugate families: exact posterior draws, or NUTS as a check"
    )
    mcse_target: Annotated[float, Field(gt=0, lt=0.5)] = Field(
        0.002, description="Monte Carlo SE wanted for every P(NI); sizes the number of draws"
    )
    pwe: Literal["hmc", "nuts"] = Field(
        "hmc",
        description="PWE models: HMC on the closed-form log posterior, every cell at once in "
        "numpy (no compile), or nutpie's NUTS on the PyMC model (a check)",
    )

    @property
    def exact_draws(self) -> int:
        """Exact (independent) draws giving MCSE <= mcse_target at p = 0.5: 0.25 / target^2."""
        return math.ceil(0.25 / self.mcse_target**2)


class PWESettings(_Strict):
    """Piecewise-exponential models: cut points, smoothing priors, survival estimands."""

    cuts: list[Pos] | None = Field(
        None, description="internal cut points in months; None: cut at event-time quantiles"
    )
    events_per_interval: Annotated[int, Field(ge=1)] = 4
    max_intervals: Annotated[int, Field(ge=1, le=100)] = 30
    baseline_log_hazard_mean: float = -2.5
    baseline_log_hazard_sd: Pos = 2.5
    smoothing_sd: Pos = 0.3
    hr_smoothing_sd: Pos = 0.15
    landmarks_months: list[Pos] = [6.0, 12.0]
    rmst_horizon_months: Pos = 12.0
    rmst_margin_months: Annotated[float, Field(le=0)] = -1.0
    reconstructed_draws: Annotated[int, Field(ge=10)] = 1000

    @model_validator(mode="after")
    def _cuts_sorted(self) -> PWESettings:
        if self.cuts is not None and any(b <= a for a, b in itertools.pairwise(self.cuts)):
            raise ValueError(
                f"cuts must be strictly increasing internal cut points, e.g. [2, 4, 6]; got "
                f"{self.cuts}"
            )
        return self


class ReconstructionSettings(_Strict):
    """Reconstruction from a published summary (rejection ABC): budget, tolerances and the
    generating ranges (None: from the trial's publication or its own time scale)."""

    sets: Annotated[int, Field(ge=1)] = 20
    sets_quick: Annotated[int, Field(ge=1)] = 4
    max_simulations: Annotated[int, Field(ge=1)] = 400_000
    median_tolerance: Pos | None = None  # relative; None: the trial spec's hint, else 0.10
    median_tolerance_months: Pos | None = None  # absolute instead of relative
    hr_tolerance: Pos = 0.05
    ci_width_tolerance: Pos = 0.15
    events_tolerance: Pos = 0.10
    landmark_tolerance: Pos = 0.05
    accrual_months: tuple[Pos, Pos] | None = None
    extra_followup_months: tuple[Annotated[float, Field(ge=0)], Pos] | None = None
    dropout_per_month: tuple[Annotated[float, Field(ge=0)], Pos] | None = None


class Thresholds(_Strict):
    max_r_hat: Annotated[float, Field(ge=1)] = 1.01
    min_ess: Annotated[float, Field(ge=0)] = 400
    max_divergences: Annotated[int, Field(ge=0)] = 0
    max_exact_gap_mcse: Pos = 4.0


class Plan(_Strict):
    title: str = ""
    endpoints: Literal["all"] | list[str] = "all"
    decision_threshold: Annotated[float, Field(gt=0.5, lt=1)] = 0.975
    inverted_hr: Literal["auto", "always", "never"] = Field(
        "auto", description="fit the inverted HR reading: where the audit flags the direction"
    )
    margins: Margins = Margins()
    margin_grid: MarginGrid = MarginGrid()
    priors: Priors
    sampler: Sampler = Sampler()
    sampler_quick: Sampler = Sampler(chains=2, tune=500, draws=1000, mcse_target=0.015)
    diagnostics: Thresholds = Thresholds()
    pwe: PWESettings = PWESettings()
    historical: HistoricalSettings = HistoricalSettings()
    reconstruction: ReconstructionSettings = ReconstructionSettings()
    operating_characteristics: OCSettings = OCSettings()

    @field_validator("endpoints")
    @classmethod
    def _some_endpoint(cls, v: Literal["all"] | list[str]) -> Literal["all"] | list[str]:
        if not v:
            raise ValueError('the list is empty: name at least one endpoint, or use "all"')
        return v

    @model_validator(mode="after")
    def _priors_named(self) -> Plan:
        if not self.priors.log_hr:
            raise ValueError("priors.log_hr needs at least one named prior")
        if not self.priors.rate:
            raise ValueError("priors.rate needs at least one named prior")
        return self

    def reference_prior(self, family: Literal["log_hr", "rate"]) -> str:
        """The first-named prior of a family: the reference the report leads with."""
        return next(iter(self.priors.log_hr if family == "log_hr" else self.priors.rate))

    @property
    def uses_historical(self) -> bool:
        """Whether any prior draws on the historical MAP priors."""
        return any(p.control_median for p in self.priors.log_hr.values()) or any(
            isinstance(p.control, str) for p in self.priors.rate.values()
        )

    def with_priors(self, names: list[str]) -> Plan:
        """The plan restricted to the named priors (each family keeps the ones named)."""
        known = [*self.priors.log_hr, *self.priors.rate]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(f"unknown prior name(s) {unknown}; the plan defines {known}")
        log_hr = {k: v for k, v in self.priors.log_hr.items() if k in names}
        rate = {k: v for k, v in self.priors.rate.items() if k in names}
        for family, kept, all_ in (
            ("log_hr", log_hr, self.priors.log_hr),
            ("rate", rate, self.priors.rate),
        ):
            if not kept:
                raise InputError(f"--prior selects no {family} prior; add one of {list(all_)}")
        return self.model_copy(update={"priors": Priors(log_hr=log_hr, rate=rate)})

    def select_endpoints(self, available: list[str]) -> list[str]:
        """The plan's endpoints among those the trial reports, in the trial's order."""
        if self.endpoints == "all":
            return list(available)
        unknown = [e for e in self.endpoints if e not in available]
        if unknown:
            raise InputError(
                f"plan endpoint(s) {unknown} not reported by the trial (it has {available})"
            )
        return [e for e in available if e in self.endpoints]


def load_plan(path: str | Path | None = None) -> tuple[Plan, str]:
    """Load and validate an analysis plan; None loads `models/default.toml`. -> (plan, sha256)."""
    if path is None:
        ref = resources.files("bayes_btc.data") / DEFAULT_PLAN
        with resources.as_file(ref) as p:
            return load_plan(p)
    raw = read_toml(path, "analysis plan")
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as err:
        raise describe_validation_error(path, err) from None
    return plan, hashlib.sha256(Path(path).read_bytes()).hexdigest()
