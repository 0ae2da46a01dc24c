"""The bundled reconstructed patient data: regenerate, save and load.

The trial published no patient data, so `bayes-btc reconstruct --from-summary` draws data
sets consistent with the abstract (see `reconstruction.summary`) and this module stores them as
package data, `data/reconstructed_ipd.csv` (endpoint, dataset, arm, time, event) with
`data/reconstructed_calibration.csv` beside it. Every row is RECONSTRUCTED, not trial data.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pandas as pd

from bayes_btc.inputs.ipd import SurvivalIPD
from bayes_btc.inputs.plan import ReconstructionSettings
from bayes_btc.inputs.trial import TrialSpec
from bayes_btc.reconstruction.summary import SummaryTarget, reconstruct_from_summary, to_ipd
from bayes_btc.tables import DATA_DIGITS, write_csv

BUNDLED = "reconstructed_ipd.csv"
SEED = 2018
N_SETS = 20


def calibration_path(ipd_path: Path) -> Path:
    return ipd_path.with_name(ipd_path.stem.removesuffix("_ipd") + "_calibration.csv")


def generate(
    spec: TrialSpec,
    n_sets: int = N_SETS,
    seed: int = SEED,
    settings: ReconstructionSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reconstruct every survival endpoint of the trial; deterministic for a seed."""
    ipd, cal = [], []
    budget = settings.max_simulations if settings is not None else 200_000
    for i, endpoint in enumerate(spec.survival):
        target = SummaryTarget.from_trial(spec, endpoint, settings)
        if progress is not None:
            progress(
                f"reconstructing {endpoint} from its published summary: {n_sets} data sets of "
                f"{target.n_treatment}/{target.n_control} patients ({target.tolerance_words()})"
            )
        d, c = reconstruct_from_summary(target, n_sets=n_sets, seed=seed + i, max_sims=budget)
        ipd.append(d.assign(endpoint=endpoint))
        cal.append(c.assign(endpoint=endpoint))
    cols = ["endpoint", "dataset", "arm", "time", "event"]
    out = pd.concat(ipd, ignore_index=True)[cols]
    calibration = pd.concat(cal, ignore_index=True)
    calibration = calibration[["endpoint", *[c for c in calibration if c != "endpoint"]]]
    return out, calibration


def save(ipd: pd.DataFrame, calibration: pd.DataFrame, path: Path) -> None:
    """Write the data sets (10 significant digits) and their calibration beside them."""
    write_csv(ipd, path, DATA_DIGITS)
    write_csv(calibration, calibration_path(path))


def load(
    spec: TrialSpec, path: Path | None = None, settings: ReconstructionSettings | None = None
) -> dict[str, list[SurvivalIPD]]:
    """Reconstructed data sets per survival endpoint (the bundled file by default)."""
    if path is None:
        with resources.as_file(resources.files("bayes_btc.data") / BUNDLED) as p:
            return load(spec, p, settings)
    frame = pd.read_csv(path)
    out = {}
    for endpoint, g in frame.groupby("endpoint", sort=False):
        target = SummaryTarget.from_trial(spec, str(endpoint), settings)
        out[str(endpoint)] = to_ipd(g.drop(columns="endpoint"), target)
    return out


def load_calibration(path: Path | None = None) -> pd.DataFrame:
    if path is None:
        with resources.as_file(resources.files("bayes_btc.data") / BUNDLED) as p:
            return pd.read_csv(calibration_path(p))
    return pd.read_csv(calibration_path(path))
