"""Validation rules: checks between a unit's figures (policy births at most births), run on
every write and on demand, whose violations are stored and resolve themselves when the data
is fixed (docs/validation.md)."""
