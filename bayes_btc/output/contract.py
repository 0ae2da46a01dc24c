"""The output contract in one place: the files every results folder holds, the ones it holds
when they apply, and the version of the folder's format (checked when a folder is read back).
"""

from __future__ import annotations

RESULTS_FORMAT = 1
MARKER = ".bayes-btc-results"  # in every results folder: only such folders are ever replaced
TABLES = (
    "summary.csv",
    "noninferiority.csv",
    "diagnostics.csv",
    "decisions.csv",
    "audit.csv",
    "exact_check.csv",
)
ARD_FILES = ("ard.csv", "ard.parquet")  # Analysis Results Data, {cards} layout (docs/ard.md)
CONTRACT_FILES = (
    *TABLES,
    "provenance.json",
    "figures/index.json",
    "report.md",
    "report.html",
    *ARD_FILES,
)
OPTIONAL_FILES = (
    "reconstruction_spread.csv",  # fits to reconstructed data sets
    "historical_priors.csv",  # historical (MAP) priors
    "historical_trials.csv",
    "tipping_point.csv",  # published-summary endpoints
    "priors.csv",  # every prior used, ESS by ELIR, moment and Morita
    "cox_check.csv",  # PWE fits: Cox HR of the same data, PH test
    "oc_exact.csv",  # conjugate fits: exact type I error and P(declare) at no difference
)
POSTERIOR_FOLDER = "posterior"  # one NetCDF per model family (not committed: tens of MB)
REPORT_INPUTS = tuple(
    f for f in CONTRACT_FILES if not f.startswith("report.") and f not in ARD_FILES
)
