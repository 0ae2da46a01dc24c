"""A results folder read back: completeness and version checks, and the view the report is
built from. The report is always rendered from saved files, so `bayes-btc report` rebuilds
exactly what `bayes-btc fit` wrote, without refitting."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from bayes_btc.decisions import Kind
from bayes_btc.errors import InputError
from bayes_btc.plan import Plan, Sampler
from bayes_btc.study import Study

RESULTS_FORMAT = 1
REQUIRED = [
    "summary.csv",
    "noninferiority.csv",
    "diagnostics.csv",
    "audit.csv",
    "exact_check.csv",
    "decisions.csv",
    "provenance.json",
    "figures/index.json",
]


@dataclass
class SavedResults:
    """The tables and settings of a results folder, under the names the report uses."""

    folder: Path
    provenance: dict
    study: Study
    plan: Plan
    sampler: Sampler
    endpoints: list[str]
    kinds: dict[str, Kind]
    audit: SimpleNamespace  # .table
    summary: pd.DataFrame
    noninferiority: pd.DataFrame
    exact: pd.DataFrame
    diagnostics: pd.DataFrame
    decisions: pd.DataFrame
    spread: pd.DataFrame
    figures: dict[str, Path]  # caption -> PNG
    historical: pd.DataFrame  # historical_priors.csv (empty without historical priors)
    historical_trials: pd.DataFrame

    @property
    def converged(self) -> bool:
        return bool(self.diagnostics["passed"].all())


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=True)


def load_results(folder: str | Path) -> SavedResults:
    """Read a results folder; one-line InputError if it is missing, incomplete or from an
    incompatible version of the results format."""
    f = Path(folder)
    if not f.is_dir():
        raise InputError(f"results folder not found: {f}")
    missing = [name for name in REQUIRED if not (f / name).exists()]
    if missing:
        raise InputError(
            f"results folder {f} is incomplete: missing {', '.join(missing)}; "
            "re-run `bayes-btc fit`"
        )
    try:
        prov = json.loads((f / "provenance.json").read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{f / 'provenance.json'}: not valid JSON ({exc.msg})") from None
    fmt = prov.get("results_format")
    if fmt != RESULTS_FORMAT:
        raise InputError(
            f"results folder {f} has results format {fmt} (bayes-btc "
            f"{prov.get('package_version', '?')}); this version reads format {RESULTS_FORMAT}: "
            "re-run `bayes-btc fit`"
        )
    index = json.loads((f / "figures" / "index.json").read_text())
    spread = f / "reconstruction_spread.csv"

    def optional(name: str) -> pd.DataFrame:
        return _csv(f / name) if (f / name).exists() else pd.DataFrame()

    return SavedResults(
        folder=f,
        provenance=prov,
        study=Study(**prov["study"]),
        plan=Plan.model_validate(prov["plan"]["content"]),
        sampler=Sampler.model_validate(
            {k: v for k, v in prov["sampler"].items() if k in Sampler.model_fields}
        ),
        endpoints=list(prov["endpoints"]),
        kinds=dict(prov["kinds"]),
        audit=SimpleNamespace(table=_csv(f / "audit.csv")),
        summary=_csv(f / "summary.csv"),
        noninferiority=_csv(f / "noninferiority.csv"),
        exact=_csv(f / "exact_check.csv"),
        diagnostics=_csv(f / "diagnostics.csv"),
        decisions=_csv(f / "decisions.csv"),
        spread=_csv(spread) if spread.exists() else pd.DataFrame(),
        figures={item["caption"]: f / "figures" / item["file"] for item in index},
        historical=optional("historical_priors.csv"),
        historical_trials=optional("historical_trials.csv"),
    )
