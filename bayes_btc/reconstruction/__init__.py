"""Pseudo-patient data from what a publication prints: digitised Kaplan-Meier curves (Guyot)
and published summaries alone (rejection ABC), and the bundled reconstructed sets."""
