"""The periods an export covers, and how other systems spell a period.

An export steps from `from` to `to` by one period type (by default the type of `from`):
every period of that type that lies wholly inside `from`'s start … `to`'s end. A statistical
year (`2024FP`) steps by statistical years.
"""

from __future__ import annotations

from core.errors import BadUserInput, shown
from indicators.catalogue_index import CatalogueIndex
from indicators.exchange_periods import dhis2_id
from indicators.periods import Period, PeriodError, PeriodType
from resolvers.periods import period_argument

# Ten years of months: a longer export is several exports (each resumable).
MAX_PERIODS = 120


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


def dhis2_export_period(period: Period) -> str:
    """DHIS2's id of a period; BadUserInput, naming the format, for one DHIS2 lacks."""
    try:
        return dhis2_id(period)
    except PeriodError as error:
        raise BadUserInput(
            f"format: {error}: export months, quarters or calendar years, or another format"
        ) from None
