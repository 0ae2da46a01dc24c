"""A results folder read back: completeness and version checks, and the view the report is
built from. The report is always rendered from saved files, so `bayes-btc report` rebuilds
exactly what `bayes-btc fit` wrote, without refitting."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import xarray as xr

from bayes_btc.decisions.rules import EndpointRules, endpoint_rules
from bayes_btc.errors import InputError
from bayes_btc.inputs.plan import Plan, Sampler
from bayes_btc.inputs.study import Study
from bayes_btc.inputs.trial import EndpointKind
from bayes_btc.output.contract import REPORT_INPUTS, RESULTS_FORMAT


@dataclass
class SavedResults:
    """The tables and settings of a results folder, under the names the report uses."""

    folder: Path
    provenance: dict
    study: Study
    plan: Plan
    sampler: Sampler
    endpoints: list[str]
    kinds: dict[str, EndpointKind]
    rules: dict[str, EndpointRules]
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
    oc_exact: pd.DataFrame = field(default_factory=pd.DataFrame)  # oc_exact.csv, when written

    @property
    def converged(self) -> bool:
        return bool(self.diagnostics["passed"].all())


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=True)


def load_results(folder: str | Path, index: list[dict] | None = None) -> SavedResults:
    """Read a results folder; one-line InputError if it is missing, incomplete or from an
    incompatible version of the results format. `index` (figure entries: file, caption)
    stands for figures/index.json while the figures are still being drawn."""
    f = Path(folder)
    if not f.is_dir():
        raise InputError(f"results folder not found: {f}")
    planned = {"figures/index.json"} if index is not None else set()
    missing = [name for name in REPORT_INPUTS if name not in planned and not (f / name).exists()]
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
    if index is None:
        index = json.loads((f / "figures" / "index.json").read_text())
    plan = Plan.model_validate(prov["plan"]["content"])
    kinds = dict(prov["kinds"])
    spread = f / "reconstruction_spread.csv"

    def optional(name: str) -> pd.DataFrame:
        return _csv(f / name) if (f / name).exists() else pd.DataFrame()

    return SavedResults(
        folder=f,
        provenance=prov,
        study=Study(**prov["study"]),
        plan=plan,
        sampler=Sampler.model_validate(
            {k: v for k, v in prov["sampler"].items() if k in Sampler.model_fields}
        ),
        endpoints=list(prov["endpoints"]),
        kinds=kinds,
        rules=endpoint_rules(plan, kinds),
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
        oc_exact=optional("oc_exact.csv"),
    )


def read_posterior(
    path: str | Path, plan: Plan | None = None, sampler: Sampler | None = None
) -> xr.DataTree:
    """A saved posterior (`posterior/<family>.nc`). Given the plan and sampler settings a
    caller expects, a posterior fitted with other settings is refused (InputError), so a
    stale fit is never read as a current one."""
    import arviz as az

    p = Path(path)
    if not p.is_file():
        raise InputError(f"posterior file not found: {p}")
    tree = az.from_netcdf(p)
    attrs = tree.attrs
    if "plan_json" not in attrs or "sampler_json" not in attrs:
        raise InputError(f"{p}: no plan or sampler settings stored; re-run `bayes-btc fit`")
    for what, given, stored in (
        ("plan", plan, attrs["plan_json"]),
        ("sampler settings", sampler, attrs["sampler_json"]),
    ):
        if given is not None and given.model_dump(mode="json", by_alias=True) != json.loads(stored):
            raise InputError(f"{p}: fitted with another {what}; re-run `bayes-btc fit`")
    return tree
