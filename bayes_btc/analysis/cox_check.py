"""Cox check of the piecewise-exponential fits: on the same patient-level or reconstructed
data, the Cox HR (lifelines `CoxPHFitter`, Efron ties) beside the PWE PH posterior median HR
under the reference prior, a warning when they differ by more than `tolerance` (relative),
and the proportional-hazards test (lifelines `proportional_hazard_test`, rank time
transform; Grambsch-Therneau). HRs are treatment vs control. Written as cox_check.csv.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test
from scipy import stats

from bayes_btc.inputs.datakey import DataKey, reconstructed_model
from bayes_btc.inputs.ipd import SurvivalIPD
from bayes_btc.models.fit import Fit

TOLERANCE = 0.05  # |PWE HR / Cox HR - 1| above this raises a warning


def cox_reference(d: SurvivalIPD, level: float = 0.95) -> dict[str, float]:
    """Cox log-HR (treatment vs control), SE, HR with CI, Wald p and the PH test of one data
    set; NaN where lifelines cannot fit (e.g. no events in an arm)."""
    df = pd.DataFrame({"time": d.time, "event": d.event, "treatment": 1 - d.arm_index()})
    out = dict.fromkeys(
        ("log_hr", "se", "hr", "ci_low", "ci_high", "p", "ph_test_statistic", "ph_test_p"),
        np.nan,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cph = CoxPHFitter(alpha=1 - level).fit(df, "time", "event")
        except Exception:  # lifelines raises several types on degenerate data
            return out
        b, se = float(cph.params_["treatment"]), float(cph.standard_errors_["treatment"])
        lo, hi = np.exp(cph.confidence_intervals_.loc["treatment"].to_numpy())
        out |= dict(log_hr=b, se=se, hr=float(np.exp(b)), ci_low=float(lo), ci_high=float(hi))
        z = b / se  # Wald p as lifelines' summary has it (chi-square, 1 df), without building it
        out["p"] = float(stats.chi2.sf(z * z, 1))
        try:
            ph = proportional_hazard_test(cph, df, time_transform="rank")
            out["ph_test_statistic"] = float(ph.summary["test_statistic"].iloc[0])
            out["ph_test_p"] = float(ph.summary["p"].iloc[0])
        except Exception:  # the PH test needs enough events; NaN otherwise
            pass
    return out


def cox_references(ipd: dict[DataKey, SurvivalIPD]) -> dict[DataKey, dict[str, float]]:
    """`cox_reference` of every data set (they need no Bayesian fit: computed while the
    fits run)."""
    return {key: cox_reference(d) for key, d in ipd.items()}


def cox_check_table(
    fits: list[Fit],
    ipd: dict[DataKey, SurvivalIPD],
    prior: str,
    tolerance: float = TOLERANCE,
    references: dict[DataKey, dict[str, float]] | None = None,
) -> pd.DataFrame:
    """One row per data set fitted by the PWE PH model (own data, or each reconstructed set):
    Cox vs PWE HR, their relative difference, the warning and the PH test. `references`: the
    data sets' `cox_references`, when already computed."""
    by_key = {
        (f.endpoint, f.dataset, f.model): f for f in fits if f.prior == prior and "hr" in f.draws
    }
    rows = []
    for key, d in ipd.items():
        model = reconstructed_model("pwe_ph") if key.reconstructed else "pwe_ph"
        fit = by_key.get((key.endpoint, key.dataset, model))
        if fit is None:
            continue
        cox = references[key] if references is not None else cox_reference(d)
        pwe_hr = float(np.median(fit.draws["hr"].values))
        diff = pwe_hr / cox["hr"] - 1 if np.isfinite(cox["hr"]) else np.nan
        rows.append(
            {
                "endpoint": key.endpoint,
                "data": key.label,
                "reconstructed": key.reconstructed,
                "model": model,
                "prior": prior,
                "n_treatment": int((d.arm == d.treatment).sum()),
                "n_control": int((d.arm == d.control).sum()),
                "events": int(d.event.sum()),
                "pwe_hr": pwe_hr,
                "cox_hr": cox["hr"],
                "cox_ci_low": cox["ci_low"],
                "cox_ci_high": cox["ci_high"],
                "cox_p": cox["p"],
                "relative_difference": diff,
                "warning": bool(np.isfinite(diff) and abs(diff) > tolerance),
                "ph_test_statistic": cox["ph_test_statistic"],
                "ph_test_p": cox["ph_test_p"],
            }
        )
    return pd.DataFrame(rows)


def cox_warnings(table: pd.DataFrame, tolerance: float = TOLERANCE) -> list[str]:
    """Sentences for the report: PWE vs Cox HR gaps over the tolerance, and PH-test signals
    (p < 0.05), per endpoint (reconstructed sets counted together)."""
    out = []
    if not len(table):
        return out
    for (endpoint, recon), g in table.groupby(["endpoint", "reconstructed"], sort=False):
        what = f"{len(g)} reconstructed data sets" if recon else "the patient-level data"
        bad = g[g["warning"]]
        if len(bad):
            worst = bad.loc[bad["relative_difference"].abs().idxmax()]
            out.append(
                f"WARNING {endpoint}: on {len(bad)} of {what} the PWE PH HR differs from the "
                f"Cox HR of the same data by more than {100 * tolerance:g}% (largest: PWE "
                f"{worst['pwe_hr']:.3f} vs Cox {worst['cox_hr']:.3f}, {worst['data']}); finer "
                "cut points (plan pwe.events_per_interval) bring them closer (cox_check.csv)."
            )
        low = g[g["ph_test_p"] < 0.05]
        if len(low):
            out.append(
                f"{endpoint}: the proportional-hazards test (Grambsch-Therneau, rank time) "
                f"has p < 0.05 on {len(low)} of {what}: the PH model's single HR averages a "
                "hazard ratio that changes over time; see the non-PH model (cox_check.csv)."
                + (
                    " On reconstructed data this reflects the generating model (a two-piece "
                    "treatment hazard), not the trial."
                    if recon
                    else ""
                )
            )
    return out
