"""Reporting periods: `2024` (year), `2024-Q1` (quarter), `2024-03` (month), and the
statistical year `2024FP`: twelve months from the month the catalogue's statistical year
starts in, named by the year it ends in (人口和计划生育统计年度, 1 October to 30 September:
2024FP is 2023-10 … 2024-09)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from core.errors import shown

# Matched whole (fullmatch, not `$`, which allows a final newline) and with ASCII digits
# (`\d` takes full-width ones): a period is exactly one of the four spellings.
_YEAR = re.compile(r"([0-9]{4})")
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_STATISTICAL_YEAR = re.compile(r"([0-9]{4})FP")
FIRST_YEAR = 1949
LAST_YEAR = 2199
# The month statistical years start in when the catalogue names none: October.
STATISTICAL_YEAR_STARTS = 10


class PeriodType(StrEnum):
    """What values are stored by: calendar months, quarters and years."""

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
    """A month, a quarter or a year, ordered by its first month.

    A year is twelve months from its first: a calendar year starts in January, a
    statistical year in the month the catalogue says (where that is January, `2024FP` is
    the calendar year 2024 and prints as `2024`). Months and quarters are calendar ones.
    """

    year: int  # the year of the period's first month
    first_month: int
    type: PeriodType

    @classmethod
    def parse(cls, text: str, *, statistical_year_starts: int | None = None) -> Period:
        """The period written exactly as `2024`, `2024-Q1`, `2024-03` or, where statistical
        years start in a known month, `2024FP`; PeriodError otherwise (a period with a space
        around it is refused, not trimmed)."""
        if match := _MONTH.fullmatch(text):
            period = cls(int(match.group(1)), int(match.group(2)), PeriodType.MONTH)
        elif match := _QUARTER.fullmatch(text):
            period = cls(int(match.group(1)), 3 * int(match.group(2)) - 2, PeriodType.QUARTER)
        elif match := _YEAR.fullmatch(text):
            period = cls(int(match.group(1)), 1, PeriodType.YEAR)
        elif match := _STATISTICAL_YEAR.fullmatch(text):
            if statistical_year_starts is None:
                raise PeriodError(
                    f"{shown(text)} is a statistical year, which figures are read for, never "
                    "reported for: values are reported by month, quarter or year"
                )
            period = cls.statistical_year(int(match.group(1)), statistical_year_starts)
        else:
            forms = (
                "a year (2024), a quarter (2024-Q1) or a month (2024-03)"
                if statistical_year_starts is None
                else "a year (2024), a quarter (2024-Q1), a month (2024-03) "
                "or a statistical year (2024FP)"
            )
            raise PeriodError(f"{shown(text)} is not a period: write {forms}")
        if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
            raise PeriodError(f"{shown(text)}: the year must lie in {FIRST_YEAR}–{LAST_YEAR}")
        return period

    @classmethod
    def statistical_year(cls, ends_in: int, starts: int) -> Period:
        """The twelve months that start in month `starts` and end in the year `ends_in`."""
        if not 1 <= starts <= 12:
            raise ValueError(f"statistical years start in a month 1–12, not {starts}")
        return cls(ends_in if starts == 1 else ends_in - 1, starts, PeriodType.YEAR)

    def __str__(self) -> str:
        if self.type is PeriodType.MONTH:
            return f"{self.year}-{self.first_month:02d}"
        if self.type is PeriodType.QUARTER:
            return f"{self.year}-Q{(self.first_month + 2) // 3}"
        if self.statistical:
            return f"{self.year + 1}FP"
        return f"{self.year}"

    @property
    def statistical(self) -> bool:
        """Whether the period is a year that does not start in January."""
        return self.type is PeriodType.YEAR and self.first_month != 1

    @property
    def kind(self) -> str:
        """`month`, `quarter`, `year` or `statistical year`, for messages."""
        return "statistical year" if self.statistical else self.type.value

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
            Period(index // 12, index % 12 + 1, PeriodType.MONTH)
            for index in range(self.month_index, self.month_index + self.type.months)
        ]

    def contains(self, other: Period) -> bool:
        """Whether other lies wholly inside this period."""
        return (
            other.type.months <= self.type.months
            and self.month_index <= other.month_index
            and other.month_index + other.type.months <= self.month_index + self.type.months
        )

    def following(self) -> Period:
        """The next period of the same type (a statistical year's next starts in its month)."""
        index = self.month_index + self.type.months
        return Period(index // 12, index % 12 + 1, self.type)


def first_month_from(day: dt.date) -> int:
    """The month index of the first month that begins on or after the day."""
    index = day.year * 12 + day.month - 1
    return index if day.day == 1 else index + 1
