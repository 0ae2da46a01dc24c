"""How numbers are printed in the report: one function for every value, probabilities near 0
or 1 shown as bounds (`> 0.9999`, `< 0.0001`) rather than rounded to 1 or 0."""

from __future__ import annotations

import math

import pandas as pd

P_FLOOR = 1e-4  # probabilities closer than this to 0 or 1 are printed as bounds


def fmt(x: object, probability: bool = False) -> str:
    """A value as the report prints it. Probabilities: 3 decimals, 4 within 0.05 of 0 or 1
    (where decision thresholds such as 0.975 sit), bounds beyond 1e-4.
    Other numbers: 4 significant digits, integers as integers; booleans yes/NO; missing as a
    dash; +inf as 'not reached' (a median the survival curve never reaches)."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "NO"
    if isinstance(x, int | float) and not isinstance(x, bool):
        v = float(x)
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "not reached" if v > 0 else "-inf"
        if probability:
            if v > 1 - P_FLOOR:
                return f"> {1 - P_FLOOR:.4f}"
            if v < P_FLOOR:
                return f"< {P_FLOOR:.4f}"
            return f"{v:.4f}" if min(v, 1 - v) <= 0.05 else f"{v:.3f}"
        if v == int(v) and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(x)


def probabilities(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A copy of a table with its probability columns printed by `fmt(..., probability=True)`."""
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = [fmt(v, probability=True) for v in out[c]]
    return out
