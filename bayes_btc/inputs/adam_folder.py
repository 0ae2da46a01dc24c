"""A CDISC ADaM folder as one analysable study: ADSL's arms and populations, ADTTE's
time-to-event parameters (efficacy population), ADRS's objective response (efficacy
population) and ADAE's treatment-emergent events (safety population).

`load_adam` validates everything before any model is built; what it assumes (population flags,
units, non-responders, subjects without a record) is returned as sentences for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_btc.errors import InputError
from bayes_btc.inputs.adae import ae_endpoints, parse_grouping
from bayes_btc.inputs.adam_read import (
    ARM_VARIABLES,
    Adsl,
    BinaryEndpoint,
    Domain,
    check_subjects,
    find_domains,
    read_adsl,
    read_domain,
)
from bayes_btc.inputs.adrs import response_endpoint
from bayes_btc.inputs.audit import COLUMNS, AuditResult
from bayes_btc.inputs.ipd import DAYS_PER_MONTH, SurvivalIPD, from_frame
from bayes_btc.inputs.plan import Plan
from bayes_btc.inputs.study import Study

# AVALU -> (multiplier, divisor) to months (days are divided, as in the ADTTE reader)
UNITS = {"DAYS": (1.0, DAYS_PER_MONTH), "WEEKS": (7.0, DAYS_PER_MONTH)}
UNITS |= {"MONTHS": (1.0, 1.0), "YEARS": (12.0, 1.0)}


@dataclass(frozen=True)
class AdamOptions:
    """How the folder is read: the arm variable, population flags, response parameter and
    adverse-event grouping. None for a flag: the default (ITTFL, else FASFL; SAFFL), or every
    subject of the two arms when ADSL has none of them (stated in the notes)."""

    arm_variable: str = "TRT01P"
    efficacy_flag: str | None = None
    safety_flag: str | None = None
    response: str = "BOR"
    ae_by: str = "soc"

    def validated(self) -> AdamOptions:
        arm = self.arm_variable.strip().upper()
        if arm not in ARM_VARIABLES:
            raise InputError(
                f"--arm-variable: {self.arm_variable!r} is not one of {', '.join(ARM_VARIABLES)}"
            )
        parse_grouping(self.ae_by)
        upper = {
            "efficacy_flag": self.efficacy_flag and self.efficacy_flag.strip().upper(),
            "safety_flag": self.safety_flag and self.safety_flag.strip().upper(),
        }
        return AdamOptions(arm, **upper, response=self.response.strip().upper(), ae_by=self.ae_by)


@dataclass(frozen=True)
class AdamData:
    """Everything read from an ADaM folder, validated, ready for `run_analysis`."""

    folder: Path
    files: dict[str, Path]  # domain -> file
    adsl: Adsl
    survival: dict[str, SurvivalIPD]
    binary: dict[str, BinaryEndpoint]
    labels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # "<endpoint>: ..." sentences
    data_notes: list[str] = field(default_factory=list)  # sentences about the whole data set

    def study(self) -> Study:
        t, c = self.adsl.treatment, self.adsl.control
        names = ", ".join(p.name for p in self.files.values())
        return Study(
            id=self.adsl.study_id or self.folder.name,
            title=f"{t} vs {c}",
            source=f"CDISC ADaM folder {self.folder} ({names})",
            data_level="individual patient data (CDISC ADaM)",
            treatment=t,
            control=c,
            labels=dict(self.labels),
            notes=list(self.notes),
            data_notes=list(self.data_notes),
        )

    def audit(self, base: AuditResult, endpoints: list[str]) -> AuditResult:
        """`base` (the survival data audit) plus one row per arm of each binary endpoint: the
        counts its fit uses."""
        rows = [
            {
                "endpoint": e,
                "arm": arm,
                "check": "patient_data_count",
                "reported": f"{k}/{n}",
                "expected": "",
                "consistent": True,
                "finding": f"{k} of {n} subjects ({100 * k / n:.1f}%)",
                "used_in_fit": self.binary[e].source,
            }
            for e in endpoints
            if e in self.binary
            for arm, (k, n) in self.binary[e].counts.items()
        ]
        table = pd.concat([base.table, pd.DataFrame(rows, columns=COLUMNS)], ignore_index=True)
        counts = {e: dict(self.binary[e].counts) for e in endpoints if e in self.binary}
        return AuditResult(table=table, counts=counts)


def survival_endpoints(
    path: Path, adsl: Adsl
) -> tuple[dict[str, SurvivalIPD], list[str], dict[str, str]]:
    """One `SurvivalIPD` per ADTTE PARAMCD over the efficacy population, arms from ADSL; notes
    (unit assumed, subjects without a record, parameters not fitted); labels from PARAM."""
    d = read_domain(path, "ADTTE")
    ids = d.subjects()
    d.need("PARAMCD", "AVAL", "CNSR")
    check_subjects(d, ids, adsl)
    params = d.text("PARAMCD")
    empty = np.flatnonzero(params == "")
    if empty.size:
        raise InputError(f"{path}: variable PARAMCD, USUBJID {ids[empty[0]]}: is empty")
    in_pop = np.isin(ids, list(adsl.efficacy))
    notes: list[str] = []
    labels = {}
    if d.has("PARAM"):
        labels = {p: lab for p, lab in zip(params, d.text("PARAM"), strict=True) if lab}
    if d.has("AVALU"):
        units = np.array([u.upper().removesuffix("S") + "S" for u in d.text("AVALU")])
        bad = np.flatnonzero(in_pop & ~np.isin(units, list(UNITS)))
        if bad.size:
            raise InputError(
                f"{path}: variable AVALU, USUBJID {ids[bad[0]]}: unknown unit "
                f"{d.text('AVALU')[bad[0]] or 'empty'} (use DAYS, WEEKS, MONTHS or YEARS)"
            )
    else:
        units = np.full(len(ids), "DAYS")
        notes.append(
            f"ADTTE ({path.name}) has no AVALU: AVAL is taken as days "
            f"(months = days / {DAYS_PER_MONTH})."
        )
    out = {}
    pop = adsl.counts(adsl.efficacy)
    for ep in dict.fromkeys(params.tolist()):
        m = (params == ep) & in_pop
        src = f"{path} [PARAMCD={ep}]"
        sub = ids[m]
        dup = pd.Series(sub).duplicated()
        if dup.any():
            raise InputError(
                f"{src}: variable USUBJID: USUBJID {sub[dup.to_numpy()][0]} appears more than once"
            )
        arm = np.array([adsl.arm[s] for s in sub], dtype=str)
        events: dict[str, int] = {}
        cnsr = np.zeros(0)
        if m.any():
            cnsr = _column(d, "CNSR", ids, m)
            bad = np.flatnonzero(~np.isin(cnsr, (0.0, 1.0)))
            if bad.size:
                raise InputError(
                    f"{src}: variable CNSR, USUBJID {sub[bad[0]]}: must be 0 (event) or 1 "
                    f"(censored), got {cnsr[bad[0]]:g}"
                )
            events = {a: int((1 - cnsr[arm == a]).sum()) for a in pop}
        if sum(events.values()) == 0 or any((arm == a).sum() == 0 for a in pop):
            notes.append(
                f"{ep}: not fitted: no events, or an arm without subjects, in the efficacy "
                f"population ({adsl.efficacy_rule})."
            )
            continue
        lacking = [a for a in pop if events.get(a, 0) == 0]
        if lacking:
            notes.append(
                f"{ep}: no event in arm {', '.join(map(repr, lacking))}: the hazard ratio's "
                "posterior is bounded only by its prior on that side; read it with care."
            )
        aval = _column(d, "AVAL", ids, m)
        mult, div = np.array([UNITS[u] for u in units[m]]).T
        frame = pd.DataFrame({"arm": arm, "time": aval * mult / div, "event": 1 - cnsr})
        rows = [f"USUBJID {s}" for s in sub]
        names = {"arm": f"{adsl.arm_variable} (ADSL)", "time": "AVAL", "event": "CNSR"}
        out[ep] = from_frame(
            frame,
            adsl.treatment,
            adsl.control,
            ep,
            src,
            rows=rows,
            columns=names,
            require_events=False,
        )
        missing = {a: pop[a] - int((arm == a).sum()) for a in pop}
        if any(missing.values()):
            per_arm = ", ".join(f"{a} {k}" for a, k in missing.items())
            notes.append(
                f"{ep}: subjects of the efficacy population without a {ep} record are left "
                f"out ({per_arm})."
            )
    return out, notes, {e: lab for e, lab in labels.items() if e in out}


def _column(d: Domain, column: str, ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Numbers of the selected rows; an empty or non-numeric value names its USUBJID."""
    sub = Domain(d.name, d.path, d.frame[rows].reset_index(drop=True))
    return sub.numbers(column, ids[rows])


def load_adam(
    folder: str | Path, treatment: str, control: str, options: AdamOptions | None = None
) -> AdamData:
    """Read and validate an ADaM folder: ADSL required; ADTTE, ADRS and ADAE when present."""
    opts = (options or AdamOptions()).validated()
    files = find_domains(folder)
    adsl = read_adsl(
        files["adsl"], treatment, control, opts.arm_variable, opts.efficacy_flag, opts.safety_flag
    )
    survival: dict[str, SurvivalIPD] = {}
    binary: dict[str, BinaryEndpoint] = {}
    notes: list[str] = []
    labels: dict[str, str] = {}
    eff, saf = adsl.counts(adsl.efficacy), adsl.counts(adsl.safety)
    data_notes = [
        f"Arms from ADSL {adsl.arm_variable}; efficacy population {adsl.efficacy_rule} "
        f"({', '.join(f'{a} {n}' for a, n in eff.items())}), safety population "
        f"{adsl.safety_rule} ({', '.join(f'{a} {n}' for a, n in saf.items())}).",
        *adsl.notes,
    ]
    if "adtte" in files:
        survival, tte_notes, labels = survival_endpoints(files["adtte"], adsl)
        fitted = [n.split(":", 1)[0] in survival for n in tte_notes]  # else about the data
        data_notes += [n for n, f in zip(tte_notes, fitted, strict=True) if not f]
        notes += [n for n, f in zip(tte_notes, fitted, strict=True) if f]
    if "adrs" in files:
        r = response_endpoint(files["adrs"], adsl, opts.response)
        binary[r.name] = r
    if "adae" in files:
        binary |= {b.name: b for b in ae_endpoints(files["adae"], adsl, opts.ae_by)}
    clash = sorted(set(survival) & set(binary))
    if clash:
        raise InputError(
            f"{folder}: endpoint name(s) {', '.join(clash)} come from ADTTE and another domain"
        )
    if not survival and not binary:
        raise InputError(
            f"{folder}: nothing to fit: no ADTTE, ADRS or ADAE endpoint with data in both arms"
        )
    labels |= {e: b.label for e, b in binary.items()}
    notes += [b.note for b in binary.values() if b.note]
    return AdamData(Path(folder), files, adsl, survival, binary, labels, notes, data_notes)


def without_bundled_history(plan: Plan) -> tuple[Plan, str]:
    """The plan without the priors that borrow from the bundled historical data, which
    describe the bundled trial's control arm, not an ADaM study's; and a sentence saying so
    ('' when nothing is dropped). A plan whose `historical.data` is a file keeps them."""
    if not plan.uses_historical or plan.historical.data != "bundled":
        return plan, ""
    log_hr = [n for n, p in plan.priors.log_hr.items() if not p.control_median]
    rate = [n for n, p in plan.priors.rate.items() if not isinstance(p.control, str)]
    dropped = [
        n
        for n in dict.fromkeys([*plan.priors.log_hr, *plan.priors.rate])
        if n not in log_hr and n not in rate
    ]
    if not log_hr or not rate:
        raise InputError(
            f"prior(s) {', '.join(dropped)} borrow from the bundled historical data, which "
            "describe another trial's control arm; with --adam keep a prior without "
            "historical borrowing, or give a plan whose historical.data describes this "
            "control arm"
        )
    note = (
        f"Prior(s) {', '.join(dropped)} not fitted: the bundled historical data describe "
        "another trial's control arm (give a plan whose historical.data describes this "
        "control arm to borrow from earlier trials)."
    )
    return plan.with_priors([*log_hr, *rate]), note
