"""The change feed as GraphQL serves it: flat rows a pull client stores as they come."""

from __future__ import annotations

import datetime as dt

import strawberry

# Registers PeriodType with GraphQL first (see schema/validation/rules.py).
import schema.catalogue.types  # noqa: F401
from indicators.rollups.evaluation import IndicatorResult
from resolvers.feed.changes import ChangesResult, FeedChange
from schema.levels import Level


@strawberry.type(description="One aggregate as it is now, that moved after the cursor asked.")
class AggregateChange:
    unit: str = strawberry.field(description="The unit's division code.")
    unit_name: str
    level: Level
    period: str = strawberry.field(description="2024-03, 2024-Q1 or 2024.")
    kind: str = strawberry.field(description="element or indicator.")
    code: str = strawberry.field(description="The element's or indicator's code.")
    value: float | None = strawberry.field(description="Null when nullReason says why.")
    numerator: float | None = strawberry.field(description="Indicators only.")
    denominator: float | None = strawberry.field(description="Indicators only.")
    reporting_units: int
    expected_units: int
    null_reason: str | None
    cursor: str = strawberry.field(description="The position of its latest change.")

    @classmethod
    def from_change(cls, change: FeedChange) -> AggregateChange:
        figure = change.figure
        return cls(
            unit=change.unit.code,
            unit_name=change.unit.name,
            level=change.unit.level,
            period=str(change.period),
            kind=change.kind,
            code=change.code,
            value=figure.value,
            numerator=figure.numerator if isinstance(figure, IndicatorResult) else None,
            denominator=figure.denominator if isinstance(figure, IndicatorResult) else None,
            reporting_units=figure.reporting_units,
            expected_units=figure.expected_units,
            null_reason=figure.null_reason,
            cursor=change.cursor,
        )


@strawberry.type(
    description="A committed change that may have moved any aggregate without changing a "
    "stored value (the catalogue reads values anew, the store was rebuilt): read the whole "
    "scope again (an export, or the feed from its start)."
)
class FeedReset:
    sequence: int
    at: dt.datetime
    reason: str


@strawberry.type(description="A page of the change feed.")
class AggregateChanges:
    changes: list[AggregateChange]
    resets: list[FeedReset]
    end_cursor: str = strawberry.field(
        description="Where the next page starts: pass it as `after`. Kept when nothing moved."
    )
    has_more: bool = strawberry.field(
        description="Whether more changes were committed before this page was read; false "
        "means the page reaches everything committed when it was read."
    )

    @classmethod
    def from_result(cls, found: ChangesResult) -> AggregateChanges:
        return cls(
            changes=[AggregateChange.from_change(change) for change in found.changes],
            resets=[FeedReset(sequence=r.seq, at=r.at, reason=r.reason) for r in found.resets],
            end_cursor=found.end_cursor,
            has_more=found.has_more,
        )
