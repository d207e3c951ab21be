"""The periods an export covers, and how other systems spell a period.

An export steps from `from` to `to` by one period type (by default the type of `from`):
every period of that type that lies wholly inside `from`'s start … `to`'s end. A statistical
year (`2024FP`) steps by statistical years.
"""

from __future__ import annotations

from core.errors import BadUserInput, shown
from indicators.catalogue_index import CatalogueIndex
from indicators.periods import Period, PeriodType
from resolvers.periods import period_argument

# Ten years of months: a longer export is several exports (each resumable).
MAX_PERIODS = 120

# DHIS2's financial years by the month they start in (FinancialApril, …): their ids are the
# year they start in and this suffix (`2023Oct` = October 2023 – September 2024).
DHIS2_FINANCIAL = {4: "April", 7: "July", 10: "Oct", 11: "Nov"}
_MONTHS_TO_ISO = {1: "P1M", 3: "P3M", 12: "P1Y"}


def period_type_argument(text: str | None) -> PeriodType | None:
    """`month`, `quarter` or `year` (any case), or None when not given."""
    if text is None or text == "":
        return None
    try:
        return PeriodType(text.strip().lower())
    except ValueError:
        raise BadUserInput(
            f"period_type: {shown(text)} is not a period type: write month, quarter or year"
        ) from None


def export_periods(
    index: CatalogueIndex, first_text: str, last_text: str, period_type: PeriodType | None
) -> list[Period]:
    """The periods from `first_text` to `last_text`, stepped by the period type."""
    first = period_argument(index, first_text, argument="from")
    last = period_argument(index, last_text, argument="to")
    if last.month_index < first.month_index:
        raise BadUserInput(f"from: {first} comes after to: {last}")
    kind = period_type or first.type
    span = kind.months
    # Statistical years step from their own first month; everything else from January.
    phase = (first.first_month - 1) if first.statistical and kind is PeriodType.YEAR else 0
    start = first.month_index + (phase - first.month_index) % span
    end = last.month_index + last.type.months
    count = max(0, (end - start) // span)
    if count == 0:
        raise BadUserInput(
            f"period_type: no whole {kind.value} lies between the start of {first} and "
            f"the end of {last}"
        )
    if count > MAX_PERIODS:
        raise BadUserInput(
            f"from, to: {count} {kind.value}s asked; an export covers at most {MAX_PERIODS} "
            "periods: split it, or ask for a longer period type"
        )
    return [
        Period(index // 12, index % 12 + 1, kind)
        for index in range(start, start + count * span, span)
    ]


def month_range(index: CatalogueIndex, first_text: str, last_text: str) -> tuple[int, int]:
    """The months from the start of `first_text` to the end of `last_text`, as month
    indexes [start, end)."""
    first = period_argument(index, first_text, argument="from")
    last = period_argument(index, last_text, argument="to")
    if last.month_index < first.month_index:
        raise BadUserInput(f"from: {first} comes after to: {last}")
    return first.month_index, last.month_index + last.type.months


def dhis2_period(period: Period) -> str:
    """DHIS2's period id: `202401`, `2024Q1`, `2024`, a financial year `2023Oct`;
    BadUserInput for a statistical year DHIS2 has no period type for."""
    if period.type is PeriodType.MONTH:
        return f"{period.year}{period.first_month:02d}"
    if period.type is PeriodType.QUARTER:
        return f"{period.year}Q{(period.first_month + 2) // 3}"
    if not period.statistical:
        return f"{period.year}"
    suffix = DHIS2_FINANCIAL.get(period.first_month)
    if suffix is None:
        months = ", ".join(str(month) for month in sorted(DHIS2_FINANCIAL))
        raise BadUserInput(
            f"format: DHIS2 has no financial year starting in month {period.first_month} "
            f"for {period} (it has those starting in months {months}): export months, "
            "quarters or calendar years, or another format"
        )
    return f"{period.year}{suffix}"


def adx_period(period: Period) -> str:
    """ADX's period: the first day and the length, `2024-01-01/P1M` (a statistical year
    from October: `2023-10-01/P1Y`)."""
    return f"{period.start.isoformat()}/{_MONTHS_TO_ISO[period.type.months]}"
