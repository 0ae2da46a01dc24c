"""What historical data may be borrowed for: the control arm and the endpoints, checked against
what the data file declares (its regimen and the endpoint names it informs).

Two ways to say it:
- The plan says it (`[historical] arm`, optionally `arm_regimen`, and/or `endpoints`, a table
  trial endpoint -> the file's endpoint name): anything the file does not declare is refused
  with one line naming both (a control arm of another regimen, an endpoint the file does not
  inform, a survival endpoint offered a rate or the reverse).
- The plan does not say it: the priors apply where the trial's control arm received the file's
  regimen (its id or label matches the regimen or one of its aliases) and to the trial
  endpoints of the same name and kind; everything left out is said in one sentence each
  (the run's assumptions), never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bayes_btc.errors import InputError
from bayes_btc.inputs.historical import HistoricalData
from bayes_btc.inputs.plan import HistoricalSettings
from bayes_btc.inputs.trial import EndpointKind

_DATA_KIND = {"survival": "median", "efficacy": "rate", "harm": "rate"}
_SEPARATORS = (" plus ", " and ", " with ", "&", "/", ",")


@dataclass(frozen=True)
class Borrowing:
    """Trial endpoint -> the data file's endpoint it borrows from, and what was left out."""

    endpoints: dict[str, str]
    notes: list[str] = field(default_factory=list)


def regimen_key(text: str) -> str:
    """A regimen written any way ('Cisplatin plus gemcitabine', 'gemcitabine + cisplatin')
    as one comparable key: lower case, drugs sorted, joined by '+'."""
    s = f" {text.lower()} "
    for sep in _SEPARATORS:
        s = s.replace(sep, "+")
    return "+".join(sorted(" ".join(p.split()) for p in s.split("+") if p.strip()))


def same_regimen(data: HistoricalData, regimen: str) -> bool:
    """Whether `regimen` (an arm's stated regimen, label or id) is the file's regimen."""
    known = {regimen_key(x) for x in (data.regimen, *data.regimen_aliases)}
    return regimen_key(regimen) in known


def borrowing(
    data: HistoricalData,
    where: str,
    settings: HistoricalSettings,
    control: tuple[str, str],
    kinds: dict[str, EndpointKind],
) -> Borrowing:
    """Resolve what the historical priors apply to. `control` is the control arm's (id, label);
    `kinds` the analysed endpoints; `where` names the data file in messages."""
    arm, label = control
    declared = ", ".join(f"{k} ({v})" for k, v in data.endpoints.items())
    explicit = settings.arm is not None or settings.endpoints is not None
    if settings.arm is not None and settings.arm != arm:
        raise InputError(
            f"plan historical.arm {settings.arm!r} is not the trial's control arm {arm!r}: "
            "historical priors apply to the control arm only"
        )
    # what the arm received: the plan's statement, else the spec's label, else (patient data,
    # no label) the arm's id
    regimen_ok = same_regimen(data, settings.arm_regimen or label or arm)
    arm_text = f"{arm!r} ({settings.arm_regimen or label})"
    if explicit and not regimen_ok:
        raise InputError(
            f"historical data {where} declare the control regimen {data.regimen!r}; the plan "
            f"offers them to control arm {arm_text}, which is not that regimen (set "
            "historical.arm_regimen if it is)"
        )
    if not regimen_ok:
        return Borrowing(
            {},
            [
                f"Historical priors NOT used: the historical data ({where}) are for the "
                f"regimen {data.regimen!r}, and the control arm {arm_text} is not that "
                "regimen. A plan may state [historical] arm and arm_regimen to borrow."
            ],
        )
    if settings.endpoints is not None:
        out = {}
        for e, h in settings.endpoints.items():
            if e not in kinds:
                raise InputError(
                    f"plan historical.endpoints offers historical data to endpoint {e!r}, "
                    f"which is not analysed (endpoints: {', '.join(kinds)})"
                )
            got = data.informs(h)
            if got is None:
                raise InputError(
                    f"historical data {where} do not declare endpoint {h!r} (they inform "
                    f"{declared}); the plan offers it to endpoint {e!r}"
                )
            if got != _DATA_KIND[kinds[e]]:
                raise InputError(
                    f"historical data {where} give a {got} for {h!r}; endpoint {e!r} is "
                    f"{kinds[e]} and needs a {_DATA_KIND[kinds[e]]}"
                )
            out[e] = h
        return Borrowing(out)
    out = {e: e for e, k in kinds.items() if data.informs(e) == _DATA_KIND[k]}
    left = [e for e in kinds if e not in out]
    notes = []
    if left:
        notes.append(
            f"No historical prior for {', '.join(left)}: the historical data ({where}) "
            f"inform {declared} only; a plan may map an endpoint to one of them "
            "([historical.endpoints])."
        )
    return Borrowing(out, notes)


def _name_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def without_analysed_trial(data: HistoricalData, trial_id: str) -> tuple[HistoricalData, list[str]]:
    """The historical data without the analysed trial itself (matched by name, ignoring case
    and punctuation), so that its control arm is not counted twice; a note when one is left
    out. Fewer than two trials left: InputError (a meta-analysis needs at least two)."""
    own = [t for t in data.trial if _name_key(t.name) == _name_key(trial_id)]
    if not own:
        return data, []
    rest = [t for t in data.trial if t not in own]
    if len(rest) < 2:
        raise InputError(
            f"the historical data hold the analysed trial {trial_id!r} itself; without it "
            f"fewer than two earlier trials remain for the MAP prior"
        )
    note = (
        f"The historical data include the analysed trial ({own[0].name}); it is left out of "
        f"the MAP prior so that its control arm is not counted twice ({len(rest)} trials used)."
    )
    return data.model_copy(update={"trial": rest}), [note]
