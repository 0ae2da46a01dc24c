"""Simulated trials on dask.distributed: chunks are tasks, checkpointed, resumable.

Chunk c of scenario s draws its patients and sampler seeds from
numpy SeedSequence((seed, s, c)), so the result of a chunk does not depend on which worker
runs it or when: any number of workers gives the same numbers. Each finished chunk is saved
(atomically) in the checkpoint folder; a resumed run loads those and runs only the rest.
A chunk's trials x priors are fitted at once in numpy (`pwe_sim.fit_trials`): nothing to
compile on a worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bayes_btc.errors import InputError
from bayes_btc.inputs.oc_settings import SurvivalScenarios
from bayes_btc.simulation.pwe_sim import PWESimModel, fit_trials
from bayes_btc.simulation.survival_sim import SurvivalTruth, simulate_patients, sufficient_stats

Progress = Callable[[int, int], None]  # (chunks done, chunks in all)


@dataclass(frozen=True)
class ChunkTask:
    """Trials `start`..`start + n` of scenario `scenario`, fitted under every prior of `model`."""

    scenario: int
    chunk: int
    n: int
    truth: SurvivalTruth
    conduct: SurvivalScenarios
    model: PWESimModel
    cuts: tuple[float, ...]  # internal cut points (months), len = model.n_intervals - 1
    margin_hr: float
    seed: int

    @property
    def key(self) -> str:
        return f"s{self.scenario:04d}-c{self.chunk:05d}"


def simulate_chunk(task: ChunkTask, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Events and exposure (trial, 2 arms, K intervals) of the chunk's simulated trials."""
    cuts = np.asarray(task.cuts)
    stats = [
        sufficient_stats(*simulate_patients(task.truth, task.conduct, rng), cuts)
        for _ in range(task.n)
    ]
    return np.stack([s[0] for s in stats]), np.stack([s[1] for s in stats])


def run_chunk(task: ChunkTask) -> np.ndarray:
    """(n trials, prior) posterior P(HR < margin) of one chunk of simulated trials, all
    trials x priors fitted at once."""
    rng = np.random.default_rng(np.random.SeedSequence((task.seed, task.scenario, task.chunk)))
    events, exposure = simulate_chunk(task, rng)
    return fit_trials(
        task.model,
        events,
        exposure,
        np.asarray(task.cuts),
        task.margin_hr,
        int(rng.integers(0, 2**31 - 1)),
        task.conduct.tune,
        task.conduct.draws,
    )


def chunk_tasks(
    scenarios: list[tuple[SurvivalTruth, PWESimModel, tuple[float, ...], float]],
    conduct: SurvivalScenarios,
    sims: int,
    seed: int,
) -> list[ChunkTask]:
    """Every chunk of every scenario (truth, model, cuts, margin HR), `conduct.chunk` trials
    each."""
    tasks = []
    for s, (truth, model, cuts, margin) in enumerate(scenarios):
        for c, start in enumerate(range(0, sims, conduct.chunk)):
            n = min(conduct.chunk, sims - start)
            tasks.append(ChunkTask(s, c, n, truth, conduct, model, cuts, margin, seed))
    return tasks


def fingerprint(tasks: list[Any]) -> str:
    """A hash of everything the chunks' numbers depend on (to refuse a mismatched resume)."""
    text = json.dumps([repr(asdict(t)) for t in tasks])
    return hashlib.sha256(text.encode()).hexdigest()


class Checkpoint:
    """Finished chunks as .npy files in a folder, beside a fingerprint of the run."""

    def __init__(self, folder: Path, tasks: list[Any], resume: bool) -> None:
        self.folder = folder
        fp = fingerprint(tasks)
        stamp = folder / "fingerprint.txt"
        if resume and folder.exists():
            if not stamp.exists() or stamp.read_text() != fp:
                raise InputError(
                    f"{folder} holds chunks of a different simulation (other settings, seed or "
                    "sims); run without --resume to start again"
                )
        else:
            shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fp)

    def path(self, task: Any) -> Path:
        return self.folder / f"{task.key}.npy"

    def load(self, task: Any) -> np.ndarray | None:
        p = self.path(task)
        return np.load(p) if p.exists() else None

    def save(self, task: Any, result: np.ndarray) -> None:
        tmp = self.folder / f".{task.key}.tmp.npy"
        np.save(tmp, result)
        os.replace(tmp, self.path(task))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def run_tasks(
    tasks: list[Any],
    checkpoint: Checkpoint,
    workers: int = 2,
    scheduler: str | None = None,
    progress: Progress | None = None,
    client: object | None = None,
    fn: Callable[[Any], np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Run the chunks not yet checkpointed on a dask cluster (a LocalCluster of `workers`
    single-threaded processes, the one at `scheduler`, or an open `client` left open); `fn`
    runs one task (default `run_chunk`); -> chunk key -> result."""
    results = {t.key: r for t in tasks if (r := checkpoint.load(t)) is not None}
    todo = [t for t in tasks if t.key not in results]
    if progress:
        progress(len(results), len(tasks))
    if not todo:
        return results
    from dask.distributed import Client, LocalCluster, as_completed

    own, cluster = client is None, None
    if client is None and scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the dask scheduler {scheduler}: {exc}") from None
    elif client is None:
        # closing workers that sit in compiled code is routine here, not worth a warning
        logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    assert isinstance(client, Client)
    try:
        run = uuid.uuid4().hex[:8]  # task keys unique on a shared scheduler
        futures = {client.submit(fn or run_chunk, t, key=f"oc-{run}-{t.key}"): t for t in todo}
        for fut in as_completed(futures):
            task = futures[fut]
            out = fut.result()
            checkpoint.save(task, out)
            results[task.key] = out
            if progress:
                progress(len(results), len(tasks))
    finally:
        if own:
            client.close()
        if cluster is not None:
            cluster.close()
    return results
