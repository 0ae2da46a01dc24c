"""ADaM ADRS in: objective response per arm over ADSL's efficacy population.

The parameter is a best overall response (`BOR`, or confirmed `CBOR`: responders have AVALC CR
or PR) or a responder parameter (`RSP`/`CRSP`, or any parameter whose AVALC is only Y/N:
responders have Y). Records with an analysis flag ANL01FL other than Y are ignored when the
variable exists. Subjects of the efficacy population without a record are non-responders in
the denominator (intention to treat), and the endpoint's note says how many there are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayes_btc.errors import InputError
from bayes_btc.inputs.adam_read import Adsl, BinaryEndpoint, check_subjects, read_domain

RESPONSE_PARAMETERS = ("BOR", "CBOR", "RSP", "CRSP")
BEST_RESPONDERS = ("CR", "PR")
NOT_ASSESSED = ("MISSING",)  # AVALC values that mean no assessment (besides blank)
ENDPOINT = "ORR"


def response_endpoint(path: Path, adsl: Adsl, paramcd: str = "BOR") -> BinaryEndpoint:
    """ORR counts per arm from ADRS: responders over the efficacy population."""
    d = read_domain(path, "ADRS")
    ids = d.subjects()
    d.need("PARAMCD", "AVALC")
    check_subjects(d, ids, adsl)
    params = d.text("PARAMCD")
    present = list(dict.fromkeys(p for p in params if p))
    if paramcd not in present:
        raise InputError(
            f"{path}: variable PARAMCD: parameter {paramcd} is not in ADRS; "
            f"PARAMCD values present: {', '.join(present)}"
        )
    sel = params == paramcd
    flag = ""
    if d.has("ANL01FL"):
        sel &= d.text("ANL01FL") == "Y"
        flag = ", ANL01FL = Y"
    sel &= np.isin(ids, list(adsl.efficacy))
    sub, avalc = ids[sel], d.text("AVALC")[sel]
    dup = pd.Series(sub).duplicated()
    if dup.any():
        raise InputError(
            f"{path}: variable PARAMCD: USUBJID {sub[dup.to_numpy()][0]} has more than one "
            f"{paramcd} record{flag.replace(', ', ' with ')}; an analysis flag (ANL01FL) "
            "should select one"
        )
    values = {v for v in avalc if v}
    yes_no = bool(values) and values <= {"Y", "N"}
    responders = ("Y",) if yes_no else BEST_RESPONDERS
    hit = sub[np.isin(avalc, responders)]
    pop = adsl.counts(adsl.efficacy)
    counts = {a: (sum(adsl.arm[s] == a for s in hit), n) for a, n in pop.items()}
    assessed = {a: 0 for a in pop}
    for s, v in zip(sub, avalc, strict=True):
        if v and v.upper() not in NOT_ASSESSED:
            assessed[adsl.arm[s]] += 1
    unassessed = {a: pop[a] - assessed[a] for a in pop}
    what = "responder (AVALC Y)" if yes_no else "best overall response CR or PR"
    note = (
        f"{ENDPOINT}: {paramcd} {what} over the efficacy population ({adsl.efficacy_rule}); "
        "every other subject counts as a non-responder in the denominator (intention to treat)"
    )
    if any(unassessed.values()):
        per_arm = ", ".join(f"{a} {m}" for a, m in unassessed.items())
        note += (
            f", including subjects without an assessment (no {paramcd} record"
            f"{flag.replace(', ', ' with ')}, or AVALC blank or MISSING): {per_arm}"
        )
    label = f"Objective response ({paramcd}: {'Y' if yes_no else ' or '.join(BEST_RESPONDERS)})"
    source = f"{path} [PARAMCD={paramcd}{flag}]"
    return BinaryEndpoint(ENDPOINT, label, "efficacy", counts, source, note + ".")
