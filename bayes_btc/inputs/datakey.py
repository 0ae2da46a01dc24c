"""Which data a survival fit is made on: an endpoint's own data, or one of its reconstructed
data sets. The key replaces string conventions; its `label` is the coordinate name used in
batched models and NetCDF files. Models fitted to reconstructed data carry the suffix
`_reconstructed` in their names, in every output."""

from __future__ import annotations

from dataclasses import dataclass

RECONSTRUCTED_SUFFIX = "_reconstructed"


@dataclass(frozen=True, order=True)
class DataKey:
    """An endpoint (e.g. "PFS"), and the number of a reconstructed data set (1-based) or None
    for the endpoint's own data."""

    endpoint: str
    dataset: int | None = None

    @property
    def reconstructed(self) -> bool:
        return self.dataset is not None

    @property
    def label(self) -> str:
        """ "PFS" or "PFS#3": the key as a coordinate label."""
        return self.endpoint if self.dataset is None else f"{self.endpoint}#{self.dataset}"


def reconstructed_model(model: str) -> str:
    """The name of a model fitted to reconstructed data sets: `pwe_ph` -> `pwe_ph_reconstructed`."""
    return model + RECONSTRUCTED_SUFFIX


def is_reconstructed(model: str) -> bool:
    """Whether a model name marks a fit to reconstructed (not observed) data."""
    return model.endswith(RECONSTRUCTED_SUFFIX)
