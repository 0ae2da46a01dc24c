"""ADaM ADAE in: one harm endpoint per group of treatment-emergent adverse events.

Subjects with at least one treatment-emergent event (TRTEMFL = Y) in the group, over ADSL's
safety population, per arm. Groups: system organ class (AEBODSYS, the default), preferred term
(AEDECOD), or `grade>=k`: one endpoint for events of grade k or worse (AETOXGR, else AESEV with
MILD = 1, MODERATE = 2, SEVERE = 3).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bayes_btc.errors import InputError
from bayes_btc.inputs.adam_read import Adsl, BinaryEndpoint, Domain, check_subjects, read_domain

GROUP_VARIABLES = {"soc": "AEBODSYS", "pt": "AEDECOD"}
SEVERITY_GRADES = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}
_GRADE = re.compile(r"^grade\s*>=\s*([1-5])$")


def parse_grouping(by: str) -> tuple[str, int | None]:
    """'soc' -> ('soc', None); 'pt'; 'grade>=3' -> ('grade', 3)."""
    key = by.strip().lower()
    if key in GROUP_VARIABLES:
        return key, None
    m = _GRADE.match(key)
    if m:
        return "grade", int(m.group(1))
    raise InputError(f"--ae-by: unknown grouping {by!r}; use soc, pt or grade>=k (k = 1..5)")


def endpoint_name(text: str) -> str:
    """'CARDIAC DISORDERS' -> 'AE_CARDIAC_DISORDERS'."""
    return "AE_" + (re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper() or "UNNAMED")


def grades(d: Domain, ids: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, str]:
    """Grade per record (NaN where not a selected row) and the variable it comes from."""
    out = np.full(len(ids), np.nan)
    if d.has("AETOXGR"):
        raw = d.text("AETOXGR")
        for i in np.flatnonzero(rows):
            g = raw[i].upper().removeprefix("GRADE").strip()
            if not g.isdigit():
                raise InputError(
                    f"{d.path}: variable AETOXGR, USUBJID {ids[i]}: "
                    f"not a grade ({raw[i] or 'empty'})"
                )
            out[i] = int(g)
        return out, "AETOXGR"
    if not d.has("AESEV"):
        d.need("AETOXGR (or AESEV)")
    raw = d.text("AESEV")
    for i in np.flatnonzero(rows):
        if raw[i].upper() not in SEVERITY_GRADES:
            raise InputError(
                f"{d.path}: variable AESEV, USUBJID {ids[i]}: {raw[i] or 'empty'} is not "
                "MILD, MODERATE or SEVERE"
            )
        out[i] = SEVERITY_GRADES[raw[i].upper()]
    return out, "AESEV"


def ae_endpoints(path: Path, adsl: Adsl, by: str = "soc") -> list[BinaryEndpoint]:
    """Harm endpoints from ADAE: subjects with >= 1 treatment-emergent event per group."""
    grouping, k = parse_grouping(by)
    d = read_domain(path, "ADAE")
    ids = d.subjects()
    d.need("TRTEMFL")
    check_subjects(d, ids, adsl)
    te = (d.text("TRTEMFL") == "Y") & np.isin(ids, list(adsl.safety))
    pop = adsl.counts(adsl.safety)
    base = "treatment-emergent (TRTEMFL = Y) event"
    over = f"over the safety population ({adsl.safety_rule})"
    if grouping == "grade":
        assert k is not None
        grade, variable = grades(d, ids, te)
        hit = te & (grade >= k)
        name = f"AE_GRADE{k}PLUS"
        label = f"Adverse events of grade {k} or worse ({variable})"
        groups = {(name, label, f"{variable} >= {k}"): hit}
        note = f"{name}: subjects with at least one {base} of {variable} grade >= {k} {over}"
        if variable == "AESEV":
            note += " (grades from severity: MILD = 1, MODERATE = 2, SEVERE = 3)"
        notes = {name: note + "."}
    else:
        variable = GROUP_VARIABLES[grouping]
        d.need(variable)
        values = d.text(variable)
        empty = np.flatnonzero(te & (values == ""))
        if empty.size:
            raise InputError(
                f"{path}: variable {variable}, USUBJID {ids[empty[0]]}: is empty on a "
                "treatment-emergent record"
            )
        groups, notes, used = {}, {}, set()
        for v in sorted({values[i] for i in np.flatnonzero(te)}):
            name = endpoint_name(v)
            while name in used:  # two texts that differ only in punctuation
                name += "_"
            used.add(name)
            groups[(name, v, f"{variable} = {v}")] = te & (values == v)
        notes = {
            n: f"{n}: subjects with at least one {base} in {variable} '{lab}' {over}."
            for (n, lab, _) in groups
        }
    out = []
    for (name, label, selection), rows in groups.items():
        hit = set(ids[rows].tolist())
        counts = {a: (sum(adsl.arm[s] == a for s in hit), n) for a, n in pop.items()}
        source = f"{path} [TRTEMFL = Y, {selection}]"
        out.append(BinaryEndpoint(name, label, "harm", counts, source, notes[name]))
    if not out:
        raise InputError(
            f"{path}: no treatment-emergent event (TRTEMFL = Y) in the safety population "
            f"({adsl.safety_rule}) of the two arms"
        )
    return out
