"""The period a dashboard shows, as its picker submits it: a year, a statistical year, a
quarter or a month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

# fp: the statistical year (2024FP: the twelve months from the month the catalogue's
# statistical year starts in, ending in 2024).
Kind = Literal["year", "fp", "quarter", "month"]
KINDS: tuple[Kind, ...] = ("year", "fp", "quarter", "month")
WHOLE_YEARS: tuple[Kind, ...] = ("year", "fp")
# Years the picker offers back from the current one.
YEARS_OFFERED = 6


class BadPeriod(ValueError):
    """The picker's fields name no period."""


@dataclass(frozen=True, slots=True)
class PeriodChoice:
    year: int
    kind: Kind
    # The quarter (1-4) or the month (1-12); 0 for a whole year.
    part: int

    @property
    def period(self) -> str:
        """As GraphQL takes it: 2025, 2025FP, 2025-Q3, 2025-09."""
        if self.kind == "fp":
            return f"{self.year}FP"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.part}"
        if self.kind == "month":
            return f"{self.year}-{self.part:02d}"
        return str(self.year)


def default_period(today: dt.date) -> PeriodChoice:
    """The last whole year: the newest one every month of which has been reported."""
    return PeriodChoice(today.year - 1, "year", 0)


def choose_period(fields: Mapping[str, str], today: dt.date) -> PeriodChoice:
    """The period the fields name (`year`, `kind`, `quarter`, `month`), or the default."""
    if "year" not in fields:
        return default_period(today)
    year_text = fields["year"]
    kind = fields.get("kind", "year")
    if not (year_text.isascii() and year_text.isdigit() and len(year_text) == 4):
        raise BadPeriod(f"year: {year_text!r} is not a year of four digits")
    year = int(year_text)
    if kind in WHOLE_YEARS:
        return PeriodChoice(year, "fp" if kind == "fp" else "year", 0)
    if kind == "quarter":
        return PeriodChoice(year, "quarter", _part(fields, "quarter", 4))
    if kind == "month":
        return PeriodChoice(year, "month", _part(fields, "month", 12))
    raise BadPeriod(f"kind: {kind!r} is none of {', '.join(KINDS)}")


def choose_month(fields: Mapping[str, str], today: dt.date) -> PeriodChoice:
    """The month the fields name; a quarter's or a calendar year's last month for those
    (its quarter's and year's values are entered then), a statistical year's December;
    the last month before today without."""
    if "year" not in fields:
        last = today.replace(day=1) - dt.timedelta(days=1)
        return PeriodChoice(last.year, "month", last.month)
    chosen = choose_period(fields, today)
    if chosen.kind == "month":
        return chosen
    return PeriodChoice(chosen.year, "month", chosen.part * 3 if chosen.kind == "quarter" else 12)


def choose_year(fields: Mapping[str, str], today: dt.date) -> PeriodChoice:
    """The calendar or statistical year the fields name (a quarter's or a month's year for
    those); the last whole year without."""
    chosen = choose_period(fields, today)
    return chosen if chosen.kind in WHOLE_YEARS else PeriodChoice(chosen.year, "year", 0)


def choose_recent(fields: Mapping[str, str], today: dt.date) -> PeriodChoice:
    """The period the fields name; the last month before today without (what is followed
    up is this month's)."""
    return choose_period(fields, today) if "year" in fields else choose_month(fields, today)


def chart_months(period: PeriodChoice, year_starts: int) -> tuple[str, str]:
    """The first and last month of the twelve a chart of the period draws: its calendar
    year, or for a statistical year, its own twelve months."""
    if period.kind != "fp" or year_starts == 1:
        return f"{period.year}-01", f"{period.year}-12"
    return f"{period.year - 1}-{year_starts:02d}", f"{period.year}-{year_starts - 1:02d}"


def years_offered(today: dt.date) -> list[int]:
    """The picker's years, newest first."""
    return [today.year - back for back in range(YEARS_OFFERED)]


def _part(fields: Mapping[str, str], name: str, last: int) -> int:
    text = fields.get(name, "")
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= last):
        raise BadPeriod(f"{name}: {text!r} is not a number from 1 to {last}")
    return int(text)
