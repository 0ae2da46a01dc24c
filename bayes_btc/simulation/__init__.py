"""Operating characteristics: exact enumeration, closed forms and simulated trials."""
