"""The whole re-analysis as functions a notebook can call: `run_analysis()` and its result."""
