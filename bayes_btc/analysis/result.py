"""What one run computes, as typed containers: everything the results folder and the report
show, so that a notebook calling `run_analysis()` has all of it and the output layer only
writes and draws."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
import xarray as xr

from bayes_btc.decisions.rules import EndpointRules
from bayes_btc.inputs.audit import AuditResult
from bayes_btc.inputs.datakey import DataKey
from bayes_btc.inputs.ipd import SurvivalIPD
from bayes_btc.inputs.plan import Plan, Sampler
from bayes_btc.inputs.study import Study
from bayes_btc.inputs.trial import EndpointKind, TrialSpec
from bayes_btc.models.fit import Fit
from bayes_btc.models.pwe_data import PWETable
from bayes_btc.priors.map_prior import HistoricalPriors

FigureKind = Literal[
    "summary",
    "ni_curve",
    "forest",
    "km",
    "density",
    "interval_hr",
    "ranks",
    "historical",
    "tipping",
]


@dataclass(frozen=True)
class FigureSpec:
    """One figure to draw: its kind (which drawing function), file stem, caption and the
    computed numbers it shows (keyword arguments of the drawing function)."""

    kind: FigureKind
    file: str
    caption: str
    data: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Tipping:
    """The closed-form tipping-point grid (tipping_point.csv), one sentence per endpoint, and
    the weakest prior that reverses each endpoint's conclusion."""

    table: pd.DataFrame
    sentences: list[str]
    flips: dict[str, dict[str, Any]]


@dataclass
class Analysis:
    """Everything one run produces, as tables, DataTrees, sentences and figure specs."""

    study: Study
    plan: Plan
    sampler: Sampler
    endpoints: list[str]
    kinds: dict[str, EndpointKind]
    rules: dict[str, EndpointRules]
    audit: AuditResult
    trees: dict[str, xr.DataTree]
    fits: list[Fit]
    summary: pd.DataFrame
    noninferiority: pd.DataFrame
    exact: pd.DataFrame
    diagnostics: pd.DataFrame
    decisions: pd.DataFrame  # per fit at the plan margin: probabilities, verdict, sentence
    pwe_tables: dict[DataKey, PWETable] = field(default_factory=dict)
    ipd: dict[DataKey, SurvivalIPD] = field(default_factory=dict)
    spread: pd.DataFrame = field(default_factory=pd.DataFrame)  # P(NI) across recon. sets
    spec: TrialSpec | None = None  # the published-summary spec, when there is one
    historical: HistoricalPriors | None = None  # MAP priors for the control arm, when used
    tipping: Tipping | None = None
    assumptions: list[str] = field(default_factory=list)
    figures: list[FigureSpec] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    ard: pd.DataFrame = field(default_factory=pd.DataFrame)  # Analysis Results Data ({cards})
    priors: pd.DataFrame = field(default_factory=pd.DataFrame)  # priors.csv: ESS per prior used
    historical_notes: list[str] = field(default_factory=list)  # what was not borrowed, why
    cox_check: pd.DataFrame = field(default_factory=pd.DataFrame)  # PWE vs Cox HR, PH test
    oc_exact: pd.DataFrame = field(default_factory=pd.DataFrame)  # oc_exact.csv: exact OCs

    @property
    def converged(self) -> bool:
        return bool(self.diagnostics["passed"].all())
