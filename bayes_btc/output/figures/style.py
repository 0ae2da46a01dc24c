"""Shared figure style: line styles per prior and plain-number ticks on log axes (HRs, SDs)."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib import ticker

PRIOR_STYLES = ["-", "--", ":", "-."]


_HR_TICKS = [0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 10, 20]
_SD_TICKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20]


def log_hr_axis(axis: matplotlib.axis.Axis) -> None:
    """Plain-number ticks (0.5, 1, 2, ...) on a log-scaled HR axis, about 4-9 of them."""
    lo, hi = sorted(axis.get_view_interval())
    ticks = [t for t in _HR_TICKS if lo <= t <= hi]
    if len(ticks) > 9:
        ticks = [t for t in ticks if t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20)]
    _plain_ticks(axis, ticks, lo, hi)


def log_sd_axis(axis: matplotlib.axis.Axis) -> None:
    """Plain-number ticks (0.05, 0.1, 0.2, 0.5, 1, 2, ...) on a log-scaled axis of SDs."""
    lo, hi = sorted(axis.get_view_interval())
    _plain_ticks(axis, [t for t in _SD_TICKS if lo <= t <= hi], lo, hi)


def _plain_ticks(axis: matplotlib.axis.Axis, ticks: list[float], lo: float, hi: float) -> None:
    """Labelled ticks at `ticks` (5 log-spaced ones if fewer than 3) and no minor ticks: the
    labels are dense enough to read the scale, and every tick costs work at each draw."""
    if len(ticks) < 3:
        ticks = list(np.round(np.geomspace(lo, hi, 5), 2))
    axis.set_major_locator(ticker.FixedLocator(ticks))
    axis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    axis.set_minor_locator(ticker.NullLocator())
    axis.set_minor_formatter(ticker.NullFormatter())
