"""Wall time per phase of a run: `lap(name)` closes the phase that started at the previous lap
(or at creation) and names it; `Laps.seconds` maps `phase_<name>` to seconds."""

from __future__ import annotations

import time


class Laps:
    """A stopwatch read at the end of each phase."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str) -> float:
        """End phase `name` now (times add up if a name recurs); its seconds."""
        now = time.perf_counter()
        dt, self.last = now - self.last, now
        key = f"phase_{name}"
        self.seconds[key] = self.seconds.get(key, 0.0) + dt
        return dt
