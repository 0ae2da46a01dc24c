"""Command-line interface: a thin layer over the library (load, audit, analyse, write)."""

from __future__ import annotations

import gc
import hashlib
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated

import typer

from bayes_btc.errors import InputError

if TYPE_CHECKING:
    from bayes_btc.inputs.adam_folder import AdamData, AdamOptions

STARTED = time.perf_counter()  # the command's start, for its "done in" line
COMMAND = SimpleNamespace(own_process=False)  # set by `main`: this process is the command

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Bayesian re-analysis of a randomised trial from its published summary: posterior "
    "probabilities of non-inferiority under named priors and pre-specified margins.",
)

TrialOpt = Annotated[
    Path | None,
    typer.Option(
        "--trial",
        help="Trial spec TOML (docs/trial-format.md). Default: the "
        "bundled ChiECRCT-20180167 abstract.",
    ),
]


def _echo(msg: str) -> None:
    typer.echo(f"[bayes-btc] {msg}", err=True)


def _fail(exc: InputError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


@app.command()
def fit(
    trial: TrialOpt = None,
    plan: Annotated[
        Path | None,
        typer.Option("--plan", help="Analysis plan TOML. Default: models/default.toml."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Results folder; replaced only when the run completes.")
    ] = Path("results"),
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (default: the plan's).", min=0)
    ] = None,
    prior: Annotated[
        list[str] | None,
        typer.Option(
            "--prior", help="Run only this named prior (repeat for several; default: all)."
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Few draws, for smoke tests only (not for decisions).")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 if any fit fails its diagnostics.")
    ] = False,
    ipd: Annotated[
        Path | None,
        typer.Option(
            "--ipd", help="Patient-level CSV with columns arm,time,event (months; 1 = event)."
        ),
    ] = None,
    adtte: Annotated[
        Path | None,
        typer.Option(
            "--adtte", help="CDISC ADaM ADTTE (.csv or .xpt); every PARAMCD is an endpoint."
        ),
    ] = None,
    treatment: Annotated[
        str | None,
        typer.Option("--treatment", help="Experimental arm label in --ipd/--adtte data."),
    ] = None,
    control: Annotated[
        str | None, typer.Option("--control", help="Control arm label in --ipd/--adtte data.")
    ] = None,
    endpoint: Annotated[
        str, typer.Option("--endpoint", help="Endpoint name for --ipd data.")
    ] = "PFS",
    reconstructed: Annotated[
        Path | None,
        typer.Option(
            "--reconstructed",
            help="Reconstructed data sets (CSV from `bayes-btc reconstruct --from-summary`) "
            "for PWE models beside the summary ones. Default: the bundled reconstruction, "
            "for the bundled trial; for another --trial, a reconstruction made (and cached) "
            "from its published summary.",
        ),
    ] = None,
    summary_only: Annotated[
        bool, typer.Option("--summary-only", help="Skip the PWE models on reconstructed data.")
    ] = False,
    adam: Annotated[
        Path | None,
        typer.Option(
            "--adam",
            help="CDISC ADaM folder: adsl (required), adtte, adrs, adae as .xpt/.csv/.parquet.",
        ),
    ] = None,
    arm_variable: Annotated[
        str, typer.Option("--arm-variable", help="--adam: ADSL arm variable: TRT01P, TRT01A, ARM.")
    ] = "TRT01P",
    efficacy_flag: Annotated[
        str | None,
        typer.Option(
            "--efficacy-flag", help="--adam: efficacy population flag (default ITTFL, else FASFL)."
        ),
    ] = None,
    safety_flag: Annotated[
        str | None,
        typer.Option("--safety-flag", help="--adam: safety population flag (default SAFFL)."),
    ] = None,
    response: Annotated[
        str, typer.Option("--response", help="--adam: ADRS parameter: BOR, CBOR, RSP or CRSP.")
    ] = "BOR",
    ae_by: Annotated[
        str, typer.Option("--ae-by", help="--adam: AE endpoints per soc, pt or grade>=k.")
    ] = "soc",
) -> None:
    """Audit the inputs, fit every model under every prior, and write results/.

    Without --ipd/--adtte: the published-summary analysis of the trial (--trial, default the
    bundled one). With them: piecewise-exponential PH and non-PH models on patient data."""
    from bayes_btc.analysis.run import run_analysis
    from bayes_btc.inputs.adam_folder import AdamOptions, without_bundled_history
    from bayes_btc.inputs.plan import load_plan
    from bayes_btc.inputs.trial import load_trial
    from bayes_btc.interrupts import Interrupted, interrupts_stop_the_run, was_interrupted
    from bayes_btc.output import preload
    from bayes_btc.output.folder import check_output_folder, staged_output
    from bayes_btc.output.provenance import provenance
    from bayes_btc.output.write import write_results
    from bayes_btc.reconstruction.bundled import load as load_reconstructed

    if COMMAND.own_process:  # the libraries' objects live as long as the process
        gc.freeze()  # no collection scans them again (about 1 s over a fit)
    loading = preload.start()
    inputs = (trial, plan, ipd, adtte, reconstructed)
    try:
        check_output_folder(out, inputs)  # before any work: refuse folders not ours
        the_plan, plan_sha = load_plan(plan)
        if prior:
            the_plan = the_plan.with_priors(prior)
        options = AdamOptions(arm_variable, efficacy_flag, safety_flag, response, ae_by)
        adam_data = _load_adam(adam, ipd, adtte, trial, treatment, control, options)
        if adam_data is not None:
            the_plan, note = without_bundled_history(the_plan)
            if note:
                adam_data.data_notes.append(note)
                _echo(note)
            patients, spec, data_path = adam_data.survival, None, str(adam)
            digest = hashlib.sha256()
            for f in adam_data.files.values():
                digest.update(f.read_bytes())
            trial_sha = digest.hexdigest()
        else:
            patients = _load_patients(ipd, adtte, treatment, control, endpoint)
        if adam_data is not None:
            pass  # spec, data_path and trial_sha set above
        elif patients:
            spec, data_path = None, str(ipd or adtte)
            trial_sha = hashlib.sha256(Path(data_path).read_bytes()).hexdigest()
            if trial is not None:
                raise InputError("--trial cannot be combined with --ipd/--adtte")
        else:
            spec, trial_sha = load_trial(trial)
            data_path = str(trial or "bundled:chiecrct_20180167.toml")
        recon = None
        if spec is not None and not summary_only and (reconstructed or trial is None):
            recon = load_reconstructed(spec, reconstructed, the_plan.reconstruction)
        elif spec is not None and not summary_only and spec.survival:
            recon = _reconstruct(spec, trial_sha, the_plan, seed, quick)
        binary = adam_data.binary if adam_data is not None else {}
        the_plan.select_endpoints(
            [*(spec.survival if spec else patients), *(spec.binary if spec else binary)]
        )
        with interrupts_stop_the_run(), staged_output(out, inputs) as stage:
            a = run_analysis(
                spec,
                the_plan,
                ipd=patients,
                reconstructed=recon,
                adam=adam_data,
                quick=quick,
                seed=seed,
                progress=_echo,
            )
            prov = provenance(
                a,
                trial_path=data_path,
                trial_sha256=trial_sha,
                plan_path=str(plan or "bundled:models/default.toml"),
                plan_sha256=plan_sha,
                command=["bayes-btc", *sys.argv[1:]],
                quick=quick,
            )
            _echo(f"writing results to {out}")
            t_write = time.perf_counter()
            loading.result()  # imported: nothing left running when the writers fork
            write_results(a, stage, prov, _echo)
            written = time.perf_counter() - t_write
    except InputError as exc:
        raise _fail(exc) from None
    except (KeyboardInterrupt, Interrupted):
        typer.echo(f"interrupted: {out} left as it was", err=True)
        raise typer.Exit(130) from None
    except Exception:
        if not was_interrupted():  # a library may turn an interrupt into its own error
            raise
        typer.echo(f"interrupted: {out} left as it was", err=True)
        raise typer.Exit(130) from None
    for line in a.decisions["statement"]:
        typer.echo(line)
    failed = a.diagnostics[~a.diagnostics["passed"]]
    if len(failed):
        for r in failed.itertuples():
            typer.echo(f"DIAGNOSTICS FAIL {r.endpoint} {r.model} {r.prior}: {r.problems}", err=True)
        if strict:
            raise typer.Exit(1)
    else:
        _echo(f"all {len(a.diagnostics)} fits pass their diagnostics")
    _echo(
        f"done in {time.perf_counter() - STARTED:.1f} s (analysis {a.seconds['total']:.1f} s, "
        f"writing {written:.1f} s): {out}/report.html"
    )


def _load_adam(
    adam: Path | None,
    ipd: Path | None,
    adtte: Path | None,
    trial: Path | None,
    treatment: str | None,
    control: str | None,
    options: AdamOptions,
) -> AdamData | None:
    """The validated ADaM folder of --adam, or None when it is not given."""
    from bayes_btc.inputs.adam_folder import load_adam

    if adam is None:
        return None
    if ipd is not None or adtte is not None or trial is not None:
        raise InputError("--adam cannot be combined with --ipd, --adtte or --trial")
    if not treatment or not control:
        raise InputError("--adam needs both --treatment ARM and --control ARM (ADSL arm values)")
    return load_adam(adam, treatment, control, options)


def _reconstruct(spec, spec_sha: str, plan, seed: int | None, quick: bool) -> dict:
    """Reconstructed sets for a spec's survival endpoints (cached), saying so on stderr."""
    from bayes_btc.reconstruction.cache import reconstruct_trial

    settings = plan.reconstruction
    n_sets = settings.sets_quick if quick else settings.sets
    the_seed = seed if seed is not None else plan.sampler.seed
    _echo(
        f"survival endpoints {', '.join(spec.survival)}: PWE models on {n_sets} RECONSTRUCTED "
        f"pseudo-patient data sets each (seed {the_seed}; --summary-only skips this)"
    )
    return reconstruct_trial(spec, spec_sha, settings, n_sets, the_seed, _echo).sets


def _load_patients(
    ipd: Path | None,
    adtte: Path | None,
    treatment: str | None,
    control: str | None,
    endpoint: str,
) -> dict:
    """Patient-level survival data from --ipd or --adtte, validated; {} when neither is given."""
    from bayes_btc.inputs.ipd import check_fittable, load_adtte, load_ipd_csv

    if ipd is None and adtte is None:
        if treatment or control:
            raise InputError("--treatment/--control need --ipd or --adtte")
        return {}
    if ipd is not None and adtte is not None:
        raise InputError("give --ipd or --adtte, not both")
    if not treatment or not control:
        raise InputError("--ipd/--adtte need both --treatment LABEL and --control LABEL")
    if ipd is not None:
        return {endpoint: check_fittable(load_ipd_csv(ipd, treatment, control, endpoint))}
    assert adtte is not None
    return {k: check_fittable(v) for k, v in load_adtte(adtte, treatment, control).items()}


@app.command()
def audit(
    trial: TrialOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write audit.csv to this file.")
    ] = None,
) -> None:
    """Check the published numbers: percentages vs denominators, CI vs HR and p, HR direction."""
    import pandas as pd

    from bayes_btc.inputs.audit import audit_trial
    from bayes_btc.inputs.trial import load_trial
    from bayes_btc.tables import write_csv

    try:
        spec, _ = load_trial(trial)
        result = audit_trial(spec)
        if out is not None:
            write_csv(result.table, out)
    except InputError as exc:
        raise _fail(exc) from None
    with pd.option_context("display.max_colwidth", 110, "display.width", 200):
        typer.echo(
            result.table[["endpoint", "arm", "check", "consistent", "finding"]].to_string(
                index=False
            )
        )
    typer.echo(f"{result.n_findings} of {len(result.table)} checks inconsistent")


def main() -> None:
    """The `bayes-btc` command, a process of its own: when it ends, the objects left are frozen
    for the garbage collector, so that the exit does not scan them (about 1 s after a fit)."""
    COMMAND.own_process = True
    try:
        app()
    finally:
        gc.freeze()


def _per_arm(values: list[str] | None, option: str) -> dict[str, int] | None:
    """Parse repeated ARM=N options."""
    if not values:
        return None
    out = {}
    for v in values:
        arm, sep, n = v.partition("=")
        if not sep or not arm or not n.strip().isdigit():
            raise InputError(f"{option} takes ARM=N (e.g. {option} A=30), got {v!r}")
        out[arm.strip()] = int(n)
    return out


@app.command()
def reconstruct(
    out: Annotated[Path, typer.Option("--out", help="Output CSV (arm,time,event).")],
    km: Annotated[
        Path | None,
        typer.Option("--km", help="Digitised Kaplan-Meier points: CSV arm,time,survival (0-1)."),
    ] = None,
    at_risk: Annotated[
        Path | None,
        typer.Option("--at-risk", help="Published numbers at risk: CSV arm,time,n_at_risk."),
    ] = None,
    n: Annotated[
        list[str] | None,
        typer.Option("--n", help="ARM=N patients per arm; required without --at-risk."),
    ] = None,
    total_events: Annotated[
        list[str] | None,
        typer.Option("--total-events", help="ARM=N total events per arm, if published."),
    ] = None,
    from_summary: Annotated[
        bool,
        typer.Option(
            "--from-summary",
            help="Instead: simulate data sets consistent with the trial's "
            "published summary (regenerates the bundled reconstruction).",
        ),
    ] = False,
    trial: TrialOpt = None,
    sets: Annotated[int, typer.Option("--sets", min=1, help="--from-summary: data sets.")] = 20,
    seed: Annotated[int, typer.Option("--seed", min=0, help="--from-summary: seed.")] = 2018,
    plan: Annotated[
        Path | None,
        typer.Option("--plan", help="--from-summary: plan whose [reconstruction] settings apply."),
    ] = None,
) -> None:
    """Reconstruct patient-level data: from digitised KM curves (Guyot et al. 2012) or, with
    --from-summary, from the published medians, HR and CI (labelled as reconstructed)."""
    import pandas as pd

    from bayes_btc.tables import check_file_target

    try:
        check_file_target(out)  # before any work
        if from_summary:
            from bayes_btc.inputs.plan import load_plan
            from bayes_btc.inputs.trial import load_trial
            from bayes_btc.reconstruction import bundled as reconstructed

            spec, _ = load_trial(trial)
            settings = load_plan(plan)[0].reconstruction if plan is not None else None
            ipd, calibration = reconstructed.generate(spec, sets, seed, settings, _echo)
            reconstructed.save(ipd, calibration, out)
            cols = [
                "endpoint",
                "dataset",
                "median_treatment",
                "median_control",
                "hr",
                "ci_low",
                "ci_high",
                "events",
            ]
            with pd.option_context("display.width", 200, "display.max_rows", 100):
                typer.echo(calibration[cols].to_string(index=False, float_format="%.2f"))
            typer.echo(
                f"wrote {len(ipd)} RECONSTRUCTED patient rows to {out} and the "
                f"calibration to {reconstructed.calibration_path(out)}"
            )
            return
        from bayes_btc.reconstruction.km import load_km_csv, load_risk_csv
        from bayes_btc.reconstruction.km import reconstruct as guyot
        from bayes_btc.tables import DATA_DIGITS, write_csv

        if km is None:
            raise InputError(
                "give --km KM.csv (with --at-risk RISK.csv or --n ARM=N), or --from-summary"
            )
        risk = load_risk_csv(at_risk) if at_risk is not None else None
        ipd, accuracy = guyot(
            load_km_csv(km), risk, _per_arm(n, "--n"), _per_arm(total_events, "--total-events")
        )
        acc_path = out.with_name(out.stem + "_accuracy.csv")
        write_csv(ipd, out, DATA_DIGITS)
        write_csv(accuracy, acc_path)
    except InputError as exc:
        raise _fail(exc) from None
    typer.echo(accuracy.to_string(index=False, float_format="%.4f"))
    typer.echo(f"wrote {len(ipd)} reconstructed patient rows to {out}; accuracy in {acc_path}")


@app.command()
def report(
    results: Annotated[
        Path, typer.Option("--results", help="Results folder written by `bayes-btc fit`.")
    ] = Path("results"),
    redraw: Annotated[
        bool,
        typer.Option(
            "--redraw-figures",
            help="Redraw every figure drawn from the saved tables (default: only missing ones).",
        ),
    ] = False,
) -> None:
    """Rebuild the report (report.md, report.html, report.pdf) from a results folder, without
    refitting; figures drawn from its tables alone are drawn first if missing."""
    import time

    from bayes_btc.output.redraw import rebuild_report

    t0 = time.perf_counter()
    try:
        written = rebuild_report(results, redraw=redraw)
    except InputError as exc:
        raise _fail(exc) from None
    typer.echo(f"rebuilt {', '.join(map(str, written))} in {time.perf_counter() - t0:.1f} s")


from bayes_btc.cli_oc import oc as _oc_command  # noqa: E402  (keeps cli_oc free of cli)

app.command("oc")(_oc_command)
