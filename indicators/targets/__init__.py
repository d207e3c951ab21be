"""Yearly targets set for the units below an administrator's, and the thresholds they are
graded by: stored, checked and audited here; assessed by `indicators.assessment`."""
