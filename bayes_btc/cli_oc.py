"""The `bayes-btc oc` command: operating characteristics of the plan's decision rules.

Registered on the typer app in `cli.py`; a thin layer over `analysis/oc.py` (compute) and
`output/oc_write.py` (write). Simulated chunks are checkpointed in `<out>.partial/` so that
`--resume` continues an interrupted run; the output folder is replaced only when complete.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from bayes_btc.errors import InputError


def _echo(msg: str) -> None:
    typer.echo(f"[bayes-btc] {msg}", err=True)


class _Bar:
    """A one-line progress bar of finished chunks on stderr."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.open = False

    def close(self) -> None:
        """End the bar's line (before an error or interrupt message)."""
        if self.open:
            sys.stderr.write("\n")
            self.open = False

    def __call__(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        elapsed = time.perf_counter() - self.t0
        sys.stderr.write(
            f"\r[bayes-btc] PWE trials [{'#' * filled}{'.' * (width - filled)}] "
            f"{done}/{total} chunks, {elapsed:.0f} s"
        )
        self.open = True
        if done == total:
            self.close()
        sys.stderr.flush()


def oc(
    trial: Annotated[
        Path | None,
        typer.Option("--trial", help="Trial spec TOML. Default: the bundled trial."),
    ] = None,
    plan: Annotated[
        Path | None,
        typer.Option("--plan", help="Analysis plan TOML. Default: models/default.toml."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="OC folder; replaced only when the run completes.")
    ] = Path("oc"),
    sims: Annotated[
        int | None,
        typer.Option(
            "--sims",
            min=1,
            help="Simulated trials per survival scenario (default: "
            "the plan's operating_characteristics.sims).",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Seed (default: the plan's).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Local dask worker processes (default: this machine's cores)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Address of an existing dask scheduler (tcp://...)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the chunks in <out>.partial/.")
    ] = False,
) -> None:
    """Operating characteristics: P(declare NI) under true effects for every endpoint, model and
    prior (exact: binary, summary log-HR; simulated: PWE models)."""
    from bayes_btc.analysis.oc import run_oc
    from bayes_btc.inputs.plan import load_plan
    from bayes_btc.inputs.trial import load_trial
    from bayes_btc.interrupts import Interrupted, interrupts_stop_the_run
    from bayes_btc.output.folder import check_output_folder, staged_output
    from bayes_btc.output.oc_write import write_oc

    bar = _Bar()
    partial = out.absolute().parent / f"{out.absolute().name}.partial"
    try:
        if scheduler and workers is not None:
            raise InputError("give --workers or --scheduler, not both")
        the_plan, plan_sha = load_plan(plan)
        spec, trial_sha = load_trial(trial)
        inputs = (trial, plan)
        check_output_folder(out, inputs)  # before any work: refuse folders not ours
        with interrupts_stop_the_run(), staged_output(out, inputs) as stage:
            t0 = time.perf_counter()
            result = run_oc(
                spec,
                the_plan,
                partial,
                sims=sims,
                seed=seed,
                workers=workers or os.cpu_count() or 1,
                scheduler=scheduler,
                resume=resume,
                progress=_echo,
                chunk_progress=bar,
            )
            prov = {
                "command": ["bayes-btc", *sys.argv[1:]],
                "trial": str(trial or "bundled"),
                "trial_sha256": trial_sha,
                "plan": str(plan or "bundled:models/default.toml"),
                "plan_sha256": plan_sha,
                "wall_seconds": round(time.perf_counter() - t0, 1),
            }
            write_oc(result, stage, prov)
    except InputError as exc:
        bar.close()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except (KeyboardInterrupt, Interrupted):
        bar.close()
        typer.echo(
            f"interrupted: {out} left as it was; finished chunks kept in {partial} "
            "(--resume continues)",
            err=True,
        )
        raise typer.Exit(130) from None
    shutil.rmtree(partial, ignore_errors=True)
    typer.echo(f"wrote {out}/oc.csv ({len(result.table)} rows)")
