"""Output: the results folder (written atomically), figures, the report, and reading a
results folder back. Only writes and draws what the analysis computed."""
