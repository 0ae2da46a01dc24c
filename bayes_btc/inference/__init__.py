"""Fitting: compile and sample, split fits into cells, pool reconstructed sets, summaries,
diagnostics and the check of MCMC against exact posteriors."""
