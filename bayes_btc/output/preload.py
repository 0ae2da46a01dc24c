"""WeasyPrint (the PDF's renderer, about half a second of imports) imported in a background
thread while the analysis runs, so that the writing stage, which is CPU-bound on every core,
does not pay for it. Nothing depends on whether or when the thread ran: the PDF writer imports
whatever is missing where it is used, and a WeasyPrint that fails to import (no system
libraries) is left for it to report. Started after the analysis' own imports (the two threads
import disjoint libraries); wait for it before forking.
"""

from __future__ import annotations

import importlib

from bayes_btc.threads import Background

MODULES = ("weasyprint",)


def _import_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the PDF writer reports it
            continue


def start() -> Background[None]:
    """Import `MODULES` on a thread of its own; `result()` waits for it (before forking)."""
    return Background(_import_all)
