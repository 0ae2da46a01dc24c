"""What is being analysed, independent of its source: identification, arms, endpoint labels
and data-level notes. Built from a published-summary trial spec or from patient-level data."""

from __future__ import annotations

from dataclasses import dataclass, field

from bayes_btc.inputs.ipd import SurvivalIPD
from bayes_btc.inputs.trial import TrialSpec

CLINICAL_LABELS = {"PFS": "Progression-free survival", "OS": "Overall survival"}


@dataclass(frozen=True)
class Study:
    id: str
    title: str
    source: str
    data_level: str
    treatment: str
    control: str
    labels: dict[str, str] = field(default_factory=dict)  # endpoint -> clinical label
    notes: list[str] = field(default_factory=list)  # assumptions, one sentence each
    data_notes: list[str] = field(default_factory=list)  # about the whole data set

    @property
    def arms(self) -> tuple[str, str]:
        return self.treatment, self.control

    def label(self, endpoint: str) -> str:
        return self.labels.get(endpoint, CLINICAL_LABELS.get(endpoint, endpoint))

    @classmethod
    def from_trial(cls, spec: TrialSpec) -> Study:
        labels = {k: v.label for k, v in [*spec.survival.items(), *spec.binary.items()]}
        notes = [
            f"{k}: {v.note}" for k, v in [*spec.survival.items(), *spec.binary.items()] if v.note
        ]
        t = spec.trial
        return cls(t.id, t.title, t.source, t.data_level, t.treatment, t.control, labels, notes)

    @classmethod
    def from_ipd(cls, ipd: dict[str, SurvivalIPD]) -> Study:
        first = next(iter(ipd.values()))
        sources = sorted({d.source for d in ipd.values()})
        level = (
            "reconstructed patient-level data" if first.reconstructed else "individual patient data"
        )
        return cls(
            id=", ".join(sources),
            title=f"{first.treatment} vs {first.control}",
            source="; ".join(sources),
            data_level=level,
            treatment=first.treatment,
            control=first.control,
        )
