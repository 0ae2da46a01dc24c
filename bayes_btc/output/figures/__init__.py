"""Matplotlib figures (PNG) of the results; plotting only."""
