"""Reporting periods: `2024` (year), `2024-Q1` (quarter), `2024-03` (month)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from core.errors import shown

# Matched whole (fullmatch, not `$`, which allows a final newline) and with ASCII digits
# (`\d` takes full-width ones): a period is exactly one of the three spellings.
_YEAR = re.compile(r"([0-9]{4})")
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
FIRST_YEAR = 1949
LAST_YEAR = 2199


class PeriodType(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @property
    def months(self) -> int:
        return {PeriodType.MONTH: 1, PeriodType.QUARTER: 3, PeriodType.YEAR: 12}[self]


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A calendar month, quarter or year, ordered by its first month."""

    year: int
    first_month: int
    type: PeriodType

    @classmethod
    def parse(cls, text: str) -> Period:
        """The period written exactly as `2024`, `2024-Q1` or `2024-03`; PeriodError otherwise
        (a period with a space around it is refused, not trimmed)."""
        if match := _MONTH.fullmatch(text):
            period = cls(int(match.group(1)), int(match.group(2)), PeriodType.MONTH)
        elif match := _QUARTER.fullmatch(text):
            period = cls(int(match.group(1)), 3 * int(match.group(2)) - 2, PeriodType.QUARTER)
        elif match := _YEAR.fullmatch(text):
            period = cls(int(match.group(1)), 1, PeriodType.YEAR)
        else:
            raise PeriodError(
                f"{shown(text)} is not a period: write a year (2024), a quarter (2024-Q1) "
                "or a month (2024-03)"
            )
        if not FIRST_YEAR <= period.year <= LAST_YEAR:
            raise PeriodError(f"{shown(text)}: the year must lie in {FIRST_YEAR}–{LAST_YEAR}")
        return period

    def __str__(self) -> str:
        if self.type is PeriodType.MONTH:
            return f"{self.year}-{self.first_month:02d}"
        if self.type is PeriodType.QUARTER:
            return f"{self.year}-Q{(self.first_month + 2) // 3}"
        return f"{self.year}"

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.first_month, 1)

    @property
    def month_index(self) -> int:
        """Months since year 0: a sortable integer key of the period's first month."""
        return self.year * 12 + self.first_month - 1

    def months(self) -> list[Period]:
        """The months the period covers, in order."""
        return [
            Period(self.year, self.first_month + i, PeriodType.MONTH)
            for i in range(self.type.months)
        ]

    def contains(self, other: Period) -> bool:
        """Whether other lies wholly inside this period."""
        return (
            other.type.months <= self.type.months
            and self.month_index <= other.month_index
            and other.month_index + other.type.months <= self.month_index + self.type.months
        )

    def following(self) -> Period:
        """The next period of the same type."""
        index = self.month_index + self.type.months
        return Period(index // 12, index % 12 + 1, self.type)


def first_month_from(day: dt.date) -> int:
    """The month index of the first month that begins on or after the day."""
    index = day.year * 12 + day.month - 1
    return index if day.day == 1 else index + 1
