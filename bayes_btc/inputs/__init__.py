"""Data in: trial specs, analysis plans, patient-level data, historical trials, and the audit
of what they report. Everything here validates before any model is built."""
