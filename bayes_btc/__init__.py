"""bayes-btc: Bayesian re-analysis of a randomised phase II trial in biliary tract cancer.

The public API follows the pipeline: load a trial and a plan, audit the published numbers,
fit the models, derive decisions and diagnostics, write the results.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bayes-btc")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
