"""Periods as DHIS2 and ADX spell them, read as Quhua's and written from Quhua's.

DHIS2 period ids: month `202401`, quarter `2024Q1`, year `2024`, and financial years
named by the year and month they start in (`2023Oct` is October 2023 to September 2024:
Quhua's `2024FP` where statistical years start in October). ADX periods are a start and
a duration: `2024-01-01/P1M`, `2024-01-01/P3M`, `2024-01-01/P1Y`, `2023-10-01/P1Y`.
Quhua's own spellings (`2024-03`, `2024-Q1`, `2024`, `2024FP`) are read in either.
"""

from __future__ import annotations

import re

from core.errors import shown
from indicators.periods import FIRST_YEAR, LAST_YEAR, Period, PeriodError, PeriodType

# DHIS2's financial period types (FinancialApril, …) by the month their ids name.
FINANCIAL_MONTHS = {"April": 4, "July": 7, "Sep": 9, "Oct": 10, "Nov": 11}
_FINANCIAL_NAMES = {month: name for name, month in FINANCIAL_MONTHS.items()}
_ISO_DURATIONS = {1: "P1M", 3: "P3M", 12: "P1Y"}
_DHIS2_MONTH = re.compile(r"([0-9]{4})(0[1-9]|1[0-2])")
_DHIS2_QUARTER = re.compile(r"([0-9]{4})Q([1-4])")
_DHIS2_FINANCIAL = re.compile(r"([0-9]{4})(April|July|Sep|Oct|Nov)")
_ADX = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})/P([0-9]{1,2})([MY])")
_QUHUA = re.compile(r"[0-9]{4}(-Q[1-4]|-[0-9]{2}|FP)?")


def _checked_year(year: int, text: str) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(f"{shown(text)}: the year must lie in {FIRST_YEAR}–{LAST_YEAR}")
    return year


def _statistical(start_year: int, month: int, text: str, starts: int) -> Period:
    if month != starts:
        raise PeriodError(
            f"{shown(text)} is a year from month {month}; statistical years here start "
            f"in month {starts}"
        )
    return Period(start_year, month, PeriodType.YEAR)


def dhis2_period(text: str, *, statistical_year_starts: int) -> Period:
    """The period a DHIS2 period id names; PeriodError saying what is wrong."""
    if match := _DHIS2_MONTH.fullmatch(text):
        year = _checked_year(int(match.group(1)), text)
        return Period(year, int(match.group(2)), PeriodType.MONTH)
    if match := _DHIS2_QUARTER.fullmatch(text):
        year = _checked_year(int(match.group(1)), text)
        return Period(year, 3 * int(match.group(2)) - 2, PeriodType.QUARTER)
    if match := _DHIS2_FINANCIAL.fullmatch(text):
        year = _checked_year(int(match.group(1)), text)
        month = FINANCIAL_MONTHS[match.group(2)]
        return _statistical(year, month, text, statistical_year_starts)
    if _QUHUA.fullmatch(text):
        return Period.parse(text, statistical_year_starts=statistical_year_starts)
    raise PeriodError(
        f"{shown(text)} is not a period Quhua stores: write a month (202401), a quarter "
        "(2024Q1) or a year (2024)"
    )


def adx_period(text: str, *, statistical_year_starts: int) -> Period:
    """The period an ADX `start/duration` names; PeriodError saying what is wrong."""
    match = _ADX.fullmatch(text)
    if match is None:
        if _QUHUA.fullmatch(text):
            return Period.parse(text, statistical_year_starts=statistical_year_starts)
        raise PeriodError(
            f"{shown(text)} is not a period Quhua stores: write a start and a duration, "
            "2024-01-01/P1M, 2024-01-01/P3M or 2024-01-01/P1Y"
        )
    year = _checked_year(int(match.group(1)), text)
    month, day = int(match.group(2)), int(match.group(3))
    length, unit = int(match.group(4)), match.group(5)
    if not 1 <= month <= 12 or day != 1:
        raise PeriodError(f"{shown(text)}: a period starts on the first day of a month")
    months = length * (12 if unit == "Y" else 1)
    if months == 1:
        return Period(year, month, PeriodType.MONTH)
    if months == 3:
        if month % 3 != 1:
            raise PeriodError(f"{shown(text)}: a quarter starts in January, April, July or October")
        return Period(year, month, PeriodType.QUARTER)
    if months == 12:
        if month == 1:
            return Period(year, 1, PeriodType.YEAR)
        return _statistical(year, month, text, statistical_year_starts)
    raise PeriodError(f"{shown(text)}: a period lasts one month, three or a year")


def dhis2_id(period: Period) -> str:
    """DHIS2's id of a period: `202401`, `2024Q1`, `2024`, a financial year `2023Oct`;
    PeriodError for a statistical year DHIS2 has no period type for."""
    if period.type is PeriodType.MONTH:
        return f"{period.year}{period.first_month:02d}"
    if period.type is PeriodType.QUARTER:
        return f"{period.year}Q{(period.first_month + 2) // 3}"
    if not period.statistical:
        return f"{period.year}"
    name = _FINANCIAL_NAMES.get(period.first_month)
    if name is None:
        months = ", ".join(str(month) for month in sorted(_FINANCIAL_NAMES))
        raise PeriodError(
            f"DHIS2 has no financial year starting in month {period.first_month} for "
            f"{period} (it has those starting in months {months})"
        )
    return f"{period.year}{name}"


def adx_id(period: Period) -> str:
    """ADX's spelling of a period: the first day and the length, `2024-01-01/P1M` (a
    statistical year from October: `2023-10-01/P1Y`)."""
    return f"{period.start.isoformat()}/{_ISO_DURATIONS[period.type.months]}"
