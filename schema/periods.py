"""How period arguments are described, the same on every field."""

from __future__ import annotations

PERIOD = (
    "2024, 2024-Q1, 2024-03, or the statistical year 2024FP: twelve months from the month "
    "the catalogue's statistical year starts in, named by the year they end in (October: "
    "2023-10 to 2024-09)."
)
