"""The period an argument names, read with the catalogue (its statistical year's month)."""

from __future__ import annotations

from core.errors import BadUserInput
from indicators.catalogue_index import CatalogueIndex
from indicators.periods import Period, PeriodError


def period_argument(index: CatalogueIndex, text: str, *, argument: str = "period") -> Period:
    """The period figures or values are asked for, a statistical year (`2024FP`) starting in
    the catalogue's month; BAD_USER_INPUT saying what is wrong with it."""
    try:
        return index.period(text)
    except PeriodError as error:
        raise BadUserInput(f"{argument}: {error}") from error
