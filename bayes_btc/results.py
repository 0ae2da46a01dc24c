"""Write a results folder atomically: everything goes to a staging folder beside the target,
which replaces the target only once complete. An error or an interruption (SIGINT, SIGTERM)
leaves the previous results byte-for-byte as they were and no staging folder behind."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_btc import __version__
from bayes_btc.analysis import Analysis
from bayes_btc.decisions import ni_rule
from bayes_btc.errors import InputError
from bayes_btc.figures import (
    forest,
    has_simple_prior,
    interval_hazard_ratios,
    km_vs_posterior,
    ni_curves,
    prior_likelihood_posterior,
    rank_plots,
)
from bayes_btc.historical_figures import historical_prior
from bayes_btc.models.pwe import MODEL_NAMES
from bayes_btc.posterior import survival_bands
from bayes_btc.report import write_report
from bayes_btc.saved import RESULTS_FORMAT
from bayes_btc.tipping import heatmap, tipping_sentences, tipping_table, write_table

FLOAT_FORMAT = "%.6g"
CONTRACT_FILES = [
    "summary.csv",
    "noninferiority.csv",
    "diagnostics.csv",
    "audit.csv",
    "exact_check.csv",
    "provenance.json",
    "report.md",
    "report.html",
    "figures",
    "posterior",
]
DEPENDENCIES = [
    "pymc",
    "pytensor",
    "arviz",
    "arviz-base",
    "arviz-stats",
    "nutpie",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "pydantic",
    "typer",
    "h5netcdf",
    "h5py",
    "numba",
]


class Interrupted(BaseException):
    """Raised from a SIGTERM handler so that clean-up code runs as for Ctrl-C."""


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into an exception for the duration of a run (main thread only)."""

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(f"stopped by signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def staged_output(out: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it atomically becomes `out`."""
    target = Path(out).absolute()
    if target.exists() and not target.is_dir():
        raise InputError(f"output folder {target} exists and is not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as exc:
        raise InputError(f"cannot write the output folder {target}: {exc.strerror}") from None
    try:
        yield stage
        _swap_into_place(stage, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _swap_into_place(stage: Path, target: Path) -> None:
    """Replace target with stage, with SIGINT/SIGTERM held off between the two renames."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    blocked = {signal.SIGINT, signal.SIGTERM}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        if target.exists():
            os.rename(target, old)
        os.rename(stage, target)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    shutil.rmtree(old, ignore_errors=True)


def package_versions() -> dict[str, str]:
    out = {"bayes-btc": __version__, "python": sys.version.split()[0]}
    for name in DEPENDENCIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(
    a: Analysis,
    *,
    trial_path: str,
    trial_sha256: str,
    plan_path: str,
    plan_sha256: str,
    command: list[str],
    quick: bool,
) -> dict:
    """What a reviewer needs to re-run and check the numbers."""
    return {
        "package": "bayes-btc",
        "package_version": __version__,
        "results_format": RESULTS_FORMAT,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "rerun": " ".join(["bayes-btc", *command[1:]]) if command else "",
        "trial": {
            "path": trial_path,
            "sha256": trial_sha256,
            "id": a.study.id,
            "data_level": a.study.data_level,
        },
        "plan": {
            "path": plan_path,
            "sha256": plan_sha256,
            "content": a.plan.model_dump(mode="json", by_alias=True),
        },
        "sampler": {**a.sampler.model_dump(), "quick": quick, "engine": "nutpie NUTS"},
        "historical": None
        if a.historical is None
        else {
            "data": a.plan.historical.data,
            "sha256": a.historical.data_sha256,
            "converged": a.historical.converged,
        },
        "seed": a.sampler.seed,
        "endpoints": a.endpoints,
        "kinds": a.kinds,
        "study": dataclasses.asdict(a.study),
        "seconds": {k: round(v, 2) for k, v in a.seconds.items()},
        "converged": a.converged,
        "versions": package_versions(),
        "platform": platform.platform(),
        "assumptions": assumptions(a),
    }


def assumptions(a: Analysis) -> list[str]:
    """Plain statements of what is assumed or approximated, for the report and provenance."""
    t, c = a.study.arms
    out = [f"Data level: {a.study.data_level} ({a.study.source})."]
    if "loghr_summary" in a.trees:
        out += [
            "Summary-level model: the published log-HR with a normal likelihood whose SE is "
            "derived from the printed 95% CI (assumed symmetric on the log scale).",
            f"The HR direction is taken as printed ({t} vs {c}); the inverted reading is "
            "fitted as a labelled sensitivity analysis (model 'loghr_summary_inverted').",
        ]
    for e in dict.fromkeys(k.split("#")[0] for k in a.pwe_tables if "#" in k):
        n = sum(1 for k in a.pwe_tables if k.startswith(f"{e}#"))
        out.append(
            f"{e}: the piecewise-exponential models (*_reconstructed) are fitted to {n} "
            "RECONSTRUCTED pseudo-patient data sets, not trial data: each was simulated to "
            "reproduce the published arm sizes (24/24 of the 48 evaluable, assumed), medians "
            "(within 0.5 months), HR (within 5%) and CI width (within 15%); the sets are "
            "fitted one by one and their posteriors pooled with equal weight "
            "(reconstruction_spread.csv shows how P(NI) varies across them)."
        )
    for e, tab in a.pwe_tables.items():
        if "#" in e:
            continue
        d = a.ipd[e]
        kind = (
            "RECONSTRUCTED pseudo-patient data, not trial data"
            if d.reconstructed
            else "patient-level data"
        )
        out.append(
            f"{e}: piecewise-exponential models on {kind} ({d.source}); {tab.n_intervals} "
            f"intervals, cut points {', '.join(f'{x:.2f}' for x in tab.cuts) or 'none'} months; "
            "nothing is extrapolated past the last follow-up, so a median the curve does not "
            "reach is reported as not reached (inf)."
        )
    out += historical_assumptions(a)
    out += [n for n in a.study.notes if n.split(":", 1)[0] in a.endpoints]
    if a.audit.n_findings:
        out.append(
            "Where no integer count reproduces a printed percentage, the nearest count on the "
            "assumed denominator is fitted (see audit.csv, column used_in_fit)."
        )
    return out


def historical_assumptions(a: Analysis) -> list[str]:
    """What the historical (MAP) priors assume, in words."""
    h = a.historical
    if h is None:
        return []
    control = a.study.arms[1]
    w = a.plan.historical.robust_weight
    out = [
        f"Historical priors: the {control} arm's MAP prior comes from a random-effects "
        f"meta-analysis of {h.trials['trial'].nunique()} earlier trials' {control} arms "
        "(historical_trials.csv; sources in the bundled historical data file). Their "
        "between-trial spread is modelled, not assumed away; the robust version mixes in a "
        f"vague component with weight {w:g}.",
    ]
    if (h.trials["scale"] == "rate").any():
        out.append(
            "Historical response counts are the printed percentages applied to ASSUMED "
            "denominators (the randomised or allocated numbers; evaluable numbers were not "
            "found), rounded to whole patients."
        )
    if (h.trials["basis"].str.contains("assumes every patient")).any():
        out.append(
            "Historical medians without a published CI or event count get an SE of "
            "1/sqrt(n), as if every patient had an event: this overstates those trials' "
            "precision, which the between-trial SD partly absorbs."
        )
    if any(p.control_median for p in a.plan.priors.log_hr.values()):
        out.append(
            f"The historical prior on the {control} median enters the piecewise-exponential "
            "models as an extra prior term on the median implied by the baseline hazards; "
            "the summary-level log-HR model has no baseline hazard, so it has no historical "
            "rows."
        )
    return out


def write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_results(a: Analysis, folder: Path, prov: dict) -> None:
    """Write every file of the output contract into `folder` (a staging folder)."""
    write_csv(a.summary, folder / "summary.csv")
    write_csv(a.noninferiority, folder / "noninferiority.csv")
    write_csv(a.diagnostics, folder / "diagnostics.csv")
    write_csv(a.audit.table, folder / "audit.csv")
    write_csv(a.exact, folder / "exact_check.csv")
    if len(a.spread):
        write_csv(a.spread, folder / "reconstruction_spread.csv")
    (folder / "posterior").mkdir()
    for family, tree in a.trees.items():
        tree.attrs.update(
            {
                "bayes_btc_version": __version__,
                "model_family": family,
                "trial_sha256": prov["trial"]["sha256"],
                "plan_sha256": prov["plan"]["sha256"],
                "seed": a.sampler.seed,
                "reconstructed": int(family.endswith("_reconstructed")),
            }
        )
        tree.to_netcdf(folder / "posterior" / f"{family}.nc", engine="h5netcdf")
    write_csv(a.decisions, folder / "decisions.csv")
    if a.historical is not None:
        write_csv(a.historical.table, folder / "historical_priors.csv")
        write_csv(a.historical.trials, folder / "historical_trials.csv")
    prov = dict(prov)
    tipping = tipping_point(a)
    if tipping is not None:
        write_table(tipping, folder)
        prov["tipping_point"] = tipping_sentences(a.spec, a.plan, a.audit.counts, tipping)
    (folder / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
    figs = write_figures(a, folder / "figures")
    if tipping is not None:
        for e in dict.fromkeys(tipping["endpoint"]):
            figs[f"{e}: tipping point, P(NI) over the prior's location and strength"] = heatmap(
                tipping, e, a.plan.decision_threshold, folder / "figures" / f"tipping_{e}.png"
            )
    index = [{"file": p.name, "caption": caption} for caption, p in figs.items()]
    (folder / "figures" / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    write_report(folder)


def tipping_point(a: Analysis) -> pd.DataFrame | None:
    """The closed-form tipping-point grid for the published-summary endpoints, if any."""
    if a.spec is None:
        return None
    table = tipping_table(a.spec, a.plan, a.audit.counts)
    table = table[table["endpoint"].isin(a.endpoints)]
    return table if len(table) else None


def write_figures(a: Analysis, folder: Path) -> dict[str, Path]:
    """The P(NI)-by-margin curve per endpoint and forest plots of the effect measures."""
    folder.mkdir()
    m = a.plan.margins
    treatment, control = a.study.arms
    margin = {"survival": m.hr, "efficacy": m.efficacy_rate_diff, "harm": m.harm_rate_diff}
    xlabel = {
        "survival": f"HR margin ({treatment} vs {control})",
        "efficacy": f"rate difference margin ({treatment} - {control})",
        "harm": f"rate difference margin ({treatment} - {control})",
    }
    out = {}
    for e in a.endpoints:
        k = a.kinds[e]
        out[f"{e}: P(non-inferior) by margin"] = ni_curves(
            a.noninferiority,
            e,
            margin[k],
            a.plan.decision_threshold,
            xlabel[k],
            folder / f"ni_curve_{e}.png",
        )
    surv = {e: m.hr for e in a.endpoints if a.kinds[e] == "survival"}
    if surv:
        out["Hazard ratios"] = forest(
            a.summary,
            "hr",
            1.0,
            surv,
            f"hazard ratio {treatment} vs {control} (log scale)",
            folder / "forest_hr.png",
            log=True,
        )
    prior = next(iter(a.plan.priors.log_hr))
    for e, table in a.pwe_tables.items():
        if "#" in e and not e.endswith("#1"):
            continue  # reconstructed: the first data set stands for the others
        d = a.ipd[e]
        base, suffix = e.split("#")[0], "_reconstructed" if "#" in e else ""
        times = np.linspace(0, table.end, 120)
        bands = {
            name + suffix: survival_bands(a.trees[name + suffix], table, e, prior, times)
            for name in MODEL_NAMES.values()
        }
        tag = " (RECONSTRUCTED data set 1)" if d.reconstructed else ""
        out[f"{base}: Kaplan-Meier vs posterior survival ({prior} prior){tag}"] = km_vs_posterior(
            d.time,
            d.event,
            d.arm_index(),
            a.study.arms,
            bands,
            times,
            f"{base}{tag}",
            folder / f"km_{base}{suffix}.png",
        )
    rates = {e: margin[a.kinds[e]] for e in a.endpoints if a.kinds[e] != "survival"}
    if rates:
        out["Rate differences"] = forest(
            a.summary,
            "rate_diff",
            0.0,
            rates,
            f"rate difference {treatment} - {control}",
            folder / "forest_rate_diff.png",
        )
    out |= model_figures(a, folder)
    if a.historical is not None:
        for e in a.historical.priors:
            out[f"{e}: historical {a.study.arms[1]} arms and the MAP prior"] = historical_prior(
                a.historical, e, a.study.arms[1], folder / f"historical_{e}.png"
            )
    return out


def model_figures(a: Analysis, folder: Path) -> dict[str, Path]:
    """Prior/likelihood/posterior densities of the conjugate fits, interval HRs of the non-PH
    PWE fits, and rank plots of the sampled chains."""
    out: dict[str, Path] = {}
    for e in a.endpoints:
        model = "loghr_summary" if a.kinds[e] == "survival" else "beta_binomial"
        if not any(f.endpoint == e and f.model == model and has_simple_prior(f) for f in a.fits):
            continue  # e.g. only mixture or historical priors: see the historical figures
        rule = ni_rule(a.kinds[e], a.plan)
        path, _ = prior_likelihood_posterior(
            a.fits,
            e,
            model,
            rule.margin,
            rule.direction,
            folder / f"density_{e}.png",
            arms=a.study.arms,
        )
        out[f"{e}: prior, likelihood and posterior ({model}), NI region shaded"] = path
    prior = next(iter(a.plan.priors.log_hr))
    for e, table in a.pwe_tables.items():
        if "#" in e and not e.endswith("#1"):
            continue
        base, suffix = e.split("#")[0], "_reconstructed" if "#" in e else ""
        tree = a.trees["pwe_nonph" + suffix]
        tag = " (RECONSTRUCTED data set 1)" if "#" in e else ""
        out[f"{base}: interval hazard ratios, non-PH model ({prior} prior){tag}"] = (
            interval_hazard_ratios(tree, table, e, prior, folder / f"interval_hr_{base}.png")
        )
    for quantity, label in (("hr", "hazard ratios"), ("rate_diff", "rate differences")):
        if any(quantity in f.draws for f in a.fits):
            out[f"Rank plots of the chains: {label}"] = rank_plots(
                a.fits, quantity, folder / f"ranks_{quantity}.png"
            )
    return out
