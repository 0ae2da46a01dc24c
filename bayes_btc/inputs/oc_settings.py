"""The plan's `[operating_characteristics]` section: the true scenarios a design is judged on.

Binary endpoints are evaluated exactly (all outcomes of both arms enumerated), the summary
log-HR model in closed form, the PWE models by simulated patient-level trials (`sims` per
scenario). Times in months; effects are true HRs (treatment vs control) or true rate
differences (treatment - control, proportion scale).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Pos = Annotated[float, Field(gt=0)]
Rate = Annotated[float, Field(gt=0, lt=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateScenarios(_Strict):
    """True control rates x true differences; each pair with both rates in [0, 1] is a scenario."""

    control: list[Rate] | None = Field(
        None, description="true control rates; None: the observed control rate + each shift"
    )
    control_shift: list[Annotated[float, Field(gt=-1, lt=1)]] = Field(
        [0.0],
        description="with `control` unset: true control rates = observed + shift (a drift from "
        "the historical control arms: prior-data conflict)",
    )
    difference: list[Annotated[float, Field(gt=-1, lt=1)]] = [-0.2, -0.1, 0.0, 0.1]


class SurvivalScenarios(_Strict):
    """True control medians x true HRs, and the trial conduct the patients are simulated under."""

    control_median_months: list[Pos] | None = Field(
        None, description="true control medians; None: the published one x each ratio below"
    )
    control_median_ratio: list[Pos] = Field(
        [1.0],
        description="with `control_median_months` unset: true control medians = the published "
        "control median x each ratio (a drift from the historical control arms: prior-data "
        "conflict for the priors with a historical control median)",
    )
    hr: list[Pos] = [0.8, 1.0, 1.3, 1.6]
    late_hr: list[Pos] = Field(
        [], description="non-PH scenarios: the HR after `change_months` (HR before: `hr`)"
    )
    pwe_models: list[Literal["ph", "nonph"]] = Field(
        ["ph", "nonph"], min_length=1, description="PWE models simulated (pwe_ph, pwe_nonph)"
    )
    change_months: Pos = 6.0
    accrual_months: Pos = 24.0
    follow_up_months: Pos = 12.0
    dropout_per_year: Annotated[float, Field(ge=0, lt=1)] = 0.05
    tune: Annotated[int, Field(ge=10)] = 300
    draws: Annotated[int, Field(ge=50)] = 1000
    chunk: Annotated[int, Field(ge=1)] = 50

    @model_validator(mode="after")
    def _late_hr_needs_hr(self) -> SurvivalScenarios:
        if self.late_hr and not self.hr:
            raise ValueError("late_hr needs hr (the HR before change_months)")
        return self


class DesignPrior(_Strict):
    """The distribution of true effects a Bayesian OC (P(correct decision)) averages over."""

    log_hr_mean: float = 0.0
    log_hr_sd: Pos = 0.2
    rate_diff_mean: float = 0.0
    rate_diff_sd: Pos = 0.08


class OCSettings(_Strict):
    sims: Annotated[int, Field(ge=1)] = 200
    seed: Annotated[int, Field(ge=0)] = 20180167
    rates: RateScenarios = RateScenarios()
    survival: SurvivalScenarios = SurvivalScenarios()
    design_prior: DesignPrior = DesignPrior()
    calibration_sims: Annotated[int, Field(ge=0)] = Field(
        20,
        description="trials per survival scenario at HR 1 and the margin that are also "
        "reconstructed from their printed summary (0: no reconstruction calibration)",
    )
    calibration_sets: Annotated[int, Field(ge=1, le=20)] = 3
