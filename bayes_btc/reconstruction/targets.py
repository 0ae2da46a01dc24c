"""What a reconstruction from a published summary must reproduce, and how it is generated.

`SummaryTarget` holds one survival endpoint's published numbers (arm sizes, medians or "not
reached", HR and CI, optional p-value bound, events and landmark survival), the acceptance
tolerances and the ranges of the generating priors for accrual, follow-up and dropout. The
ranges come, in this order, from the plan's `[reconstruction]` section, the trial's published
conduct (accrual, median follow-up, dates), the spec's ASSUMED `[reconstruction]` hints, and
otherwise from the trial's own time scale (its longest published median). Times in months.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bayes_btc.errors import InputError

if TYPE_CHECKING:
    from bayes_btc.inputs.plan import ReconstructionSettings
    from bayes_btc.inputs.trial import TrialSpec

DAYS_PER_MONTH = 30.4375
# Defaults as multiples of the trial's time scale S (its longest published median, months)
ACCRUAL_PER_SCALE = (1.0, 3.0)  # accrual period ~ U(1, 3) x S
EXTRA_PER_SCALE = (0.0, 0.5)  # cut-off after the last entry ~ U(0, 0.5) x S
DROPOUT_PER_HAZARD = 0.25  # dropout rate ~ U(0, 0.25 x log 2 / S) per month
PUBLISHED_SLACK = 0.1  # published durations are taken as +-10% (rounding, reverse-KM vs plan)


@dataclass(frozen=True)
class SummaryTarget:
    """One endpoint's reconstruction target; months, HR treatment/control.

    Medians may be inf ("not reached" by `not_reached_by` months). Tolerances: medians within
    `median_tol` (relative) or `median_tol_months` (absolute, when set), HR within `hr_tol`
    and the log-CI width within `width_tol` (relative), events per arm within `events_tol`
    (relative, at least one event), landmark survival within `landmark_tol` (absolute)."""

    endpoint: str
    n_treatment: int
    n_control: int
    median_treatment: float
    median_control: float
    hr: float
    ci: tuple[float, float]
    ci_level: float = 0.95
    accrual_months: tuple[float, float] | None = None  # None: derived from the medians
    treatment: str = "treatment"
    control: str = "control"
    extra_followup_months: tuple[float, float] | None = None
    dropout_per_month: tuple[float, float] | None = None
    note: str = ""  # assumptions made in building the target, carried into the output
    not_reached_by: float | None = None  # follow-up (months) by which an NR median was not reached
    events: tuple[int, int] | None = None  # (treatment, control)
    events_total: int | None = None  # both arms
    landmarks: tuple[tuple[float, float, float], ...] = ()  # (months, S_treatment, S_control)
    p_bound: tuple[str, float] | None = None  # ('<', 0.001): Cox Wald p must satisfy it
    median_tol: float = 0.10
    median_tol_months: float | None = None
    hr_tol: float = 0.05
    width_tol: float = 0.15
    events_tol: float = 0.10
    landmark_tol: float = 0.05
    settings_note: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        lo, hi = self.ci
        meds = (self.median_treatment, self.median_control)
        nr = [m for m in meds if math.isinf(m)]
        if not (np.isnan(meds).any() or min(meds) <= 0):
            scale = max([m for m in meds if math.isfinite(m)] + [self.not_reached_by or 0.0])
            derived = default_ranges(scale)
            for name, value in zip(RANGE_FIELDS, derived, strict=True):
                if getattr(self, name) is None:
                    object.__setattr__(self, name, value)
        ranges = (self.accrual_months, self.extra_followup_months, self.dropout_per_month)
        for bad, why in (
            (min(self.n_treatment, self.n_control) < 2, "each arm needs at least 2 patients"),
            (min(meds) <= 0 or np.isnan(meds).any(), "medians must be > 0 months (inf = NR)"),
            (bool(nr) and not self.not_reached_by, "a median not reached needs not_reached_by"),
            (not 0 < lo < self.hr < hi, f"need 0 < CI low < HR < CI high, got {self.hr} {self.ci}"),
            (not 0 < self.ci_level < 1, f"ci_level must be in (0, 1), got {self.ci_level}"),
            (ranges[0] is not None and ranges[0][0] <= 0, "accrual_months must be > 0"),
            (
                not all(r is not None and 0 <= r[0] <= r[1] for r in ranges),
                "prior ranges need 0 <= low <= high",
            ),
            (self.treatment == self.control, "treatment and control labels are the same"),
            (
                self.events is not None
                and not (
                    0 < self.events[0] <= self.n_treatment and 0 < self.events[1] <= self.n_control
                ),
                "events per arm must be between 1 and the arm size",
            ),
            (
                self.events_total is not None
                and not 0 < self.events_total <= self.n_treatment + self.n_control,
                "total events must be between 1 and the number of patients",
            ),
        ):
            if bad:
                raise InputError(f"summary target {self.endpoint}: {why}")

    @property
    def ci_width_log(self) -> float:
        """log(upper) - log(lower) of the published CI."""
        return float(np.log(self.ci[1] / self.ci[0]))

    def median_half_width(self, published: float) -> float:
        """Accepted |KM median - published| (months) for a finite published median."""
        tol = self.median_tol_months
        return tol if tol is not None else self.median_tol * published

    def tolerance_words(self) -> str:
        """The acceptance tolerances in words, for notes and reports."""
        med = (
            f"within {self.median_tol_months:g} months"
            if self.median_tol_months is not None
            else f"within {100 * self.median_tol:g}%"
        )
        out = f"medians {med}, HR within {100 * self.hr_tol:g}%, CI width within "
        out += f"{100 * self.width_tol:g}%"
        if self.events is not None:
            out += f", events per arm within {100 * self.events_tol:g}%"
        if self.events_total is not None:
            out += f", total events ({self.events_total}) within {100 * self.events_tol:g}%"
        if self.landmarks:
            out += f", landmark survival within {100 * self.landmark_tol:g} points"
        if self.p_bound is not None:
            out += f", Wald p {self.p_bound[0]} {self.p_bound[1]:g}"
        return out

    @classmethod
    def from_trial(
        cls, spec: TrialSpec, endpoint: str, settings: ReconstructionSettings | None = None
    ) -> SummaryTarget:
        """Target for `spec.survival[endpoint]` with the plan's reconstruction settings."""
        return target_from_trial(spec, endpoint, settings)


RANGE_FIELDS = ("accrual_months", "extra_followup_months", "dropout_per_month")


def default_ranges(scale: float) -> tuple[tuple[float, float], ...]:
    """Accrual, cut-off after the last entry and dropout ranges from a time scale (months)."""
    accrual = tuple(float(k * scale) for k in ACCRUAL_PER_SCALE)
    extra = tuple(float(k * scale) for k in EXTRA_PER_SCALE)
    return accrual, extra, (0.0, float(DROPOUT_PER_HAZARD * math.log(2) / scale))


def months_between(a, b) -> float:
    """Months between two dates (days / 30.4375)."""
    return (b - a).days / DAYS_PER_MONTH


def time_scale(spec: TrialSpec) -> float:
    """The trial's own time scale: its longest published median or NR follow-up (months)."""
    values = [
        m for s in spec.survival.values() for m in s.median_months.values() if math.isfinite(m)
    ]
    values += [s.not_reached_by_months or 0.0 for s in spec.survival.values()]
    return max(values)


def conduct_ranges(
    spec: TrialSpec, endpoint: str
) -> tuple[tuple[float, float] | None, tuple[float, float] | None, str]:
    """Accrual and cut-off-after-last-entry ranges from what the trial published (or None)."""
    c, s, k = spec.conduct, spec.survival[endpoint], PUBLISHED_SLACK
    accrual = c.accrual_months
    words = []
    if accrual is None and c.enrolment_start and c.enrolment_end:
        accrual = months_between(c.enrolment_start, c.enrolment_end)
    if accrual is not None:
        words.append(f"accrual {accrual:.1f} months")
    acc = None if accrual is None else ((1 - k) * accrual, (1 + k) * accrual)
    extra = None
    followup = s.median_followup_months or c.median_followup_months
    if c.data_cutoff and c.enrolment_start and accrual is not None:
        after = months_between(c.enrolment_start, c.data_cutoff) - accrual
        extra = (max(0.0, after - k * accrual), max(0.0, after + k * accrual))
        words.append(f"data cut-off {c.data_cutoff}")
    elif followup is not None:
        # uniform entry over A, cut-off C: median potential follow-up = C - A / 2
        if acc is None:
            acc = (0.5 * followup, min(1.5, 2 * (1 - k)) * followup)
        acc = (min(acc[0], 2 * (1 - k) * followup), min(acc[1], 2 * (1 - k) * followup))
        extra = (
            max(0.0, (1 - k) * followup - acc[1] / 2),
            max(0.0, (1 + k) * followup - acc[0] / 2),
        )
        words.append(f"median follow-up {followup:g} months")
    return acc, extra, ", ".join(words)


def target_from_trial(
    spec: TrialSpec, endpoint: str, settings: ReconstructionSettings | None = None
) -> SummaryTarget:
    """Build the target of one survival endpoint; every range says where it came from."""
    if endpoint not in spec.survival:
        have = ", ".join(spec.survival) or "none"
        raise InputError(f"trial has no survival endpoint '{endpoint}'; endpoints: {have}")
    s, (trt, ctl) = spec.survival[endpoint], spec.arm_order
    n, how = spec.analysed_per_arm(endpoint)
    hints = spec.reconstruction
    acc, extra, published = conduct_ranges(spec, endpoint)
    scale = time_scale(spec)
    derived = dict(zip(RANGE_FIELDS, default_ranges(scale), strict=True))
    chosen: dict[str, tuple[float, ...]] = {}
    source: dict[str, list[str]] = {}
    words = {
        "accrual_months": "accrual {} months",
        "extra_followup_months": "cut-off {} months after the last entry",
        "dropout_per_month": "dropout {} per month",
    }
    for name, pub in zip(RANGE_FIELDS, (acc, extra, None), strict=True):
        plan_value = getattr(settings, name, None) if settings is not None else None
        for value, where in (
            (plan_value, "plan"),
            (pub, "published"),
            (getattr(hints, name), "ASSUMED in the trial spec"),
            (derived[name], f"derived from the trial's longest median ({scale:g} months)"),
        ):
            if value is not None:
                chosen[name] = tuple(float(v) for v in value)
                shown = "-".join(f"{v:.3g}" for v in chosen[name])
                source.setdefault(where, []).append(words[name].format(shown))
                break
    tol: dict = {}
    if settings is not None:
        tol = dict(
            hr_tol=settings.hr_tolerance,
            width_tol=settings.ci_width_tolerance,
            events_tol=settings.events_tolerance,
            landmark_tol=settings.landmark_tolerance,
        )
    rel = settings.median_tolerance if settings is not None else None
    abs_tol = settings.median_tolerance_months if settings is not None else None
    if rel is None and abs_tol is None:  # the plan leaves it open: the spec's hint, or 10%
        rel, abs_tol = hints.median_tolerance, hints.median_tolerance_months
    if rel is not None:
        tol["median_tol"] = rel
    nr_by = s.not_reached_by_months or s.median_followup_months
    nr_by = nr_by or spec.conduct.median_followup_months
    landmarks = tuple(
        (lm.months, lm.percent[trt] / 100.0, lm.percent[ctl] / 100.0) for lm in s.landmarks
    )
    p = s.p_parsed
    note = f"{endpoint}: {how}"
    if published:
        note += f"; published conduct used: {published}"
    target = SummaryTarget(
        endpoint,
        n[trt],
        n[ctl],
        s.median_months[trt],
        s.median_months[ctl],
        s.hr,
        tuple(s.ci),
        s.ci_level,
        treatment=trt,
        control=ctl,
        note=note,
        not_reached_by=nr_by if s.not_reached else None,
        events=None if s.events is None else (s.events[trt], s.events[ctl]),
        events_total=s.events_total,
        landmarks=landmarks,
        p_bound=p if p is not None and p[0] != "=" else None,
        median_tol_months=abs_tol,
        settings_note="; ".join(f"{', '.join(v)}: {k}" for k, v in source.items()),
        **chosen,
        **tol,
    )
    return target
