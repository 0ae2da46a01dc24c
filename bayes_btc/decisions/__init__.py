"""Decisions: rules built once from the plan, probability tables, plain-word statements,
and the tipping-point analysis."""
