"""Priors as values: Beta and normal mixtures, mixture fits to draws, historical (MAP)
borrowing, and the plan's named priors resolved per model family and endpoint."""
