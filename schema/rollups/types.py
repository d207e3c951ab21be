"""Aggregates and indicators as GraphQL serves them; grids and series are columnar.

A grid of 1,000 rows as 1,000 objects costs graphql-core several times what the same
figures cost as one list per field, so grids and series answer with parallel lists.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from indicators.rollups.evaluation import Aggregate as AggregateResult
from indicators.rollups.evaluation import IndicatorResult
from resolvers.rollups import grid as grids
from resolvers.rollups.grid import Grid, GridColumn
from resolvers.rollups.series import SeriesResult
from schema.context import Info
from schema.levels import Level
from schema.validation.enums import Importance

ApprovedOnly = Annotated[
    bool,
    strawberry.argument(
        description="Only approved data: withheld (null, with nullReason) unless every month "
        "of the period is approved at the unit or above and none is reopened."
    ),
]


@strawberry.type(description="A data element summed over a unit's subtree and over a period.")
class Aggregate:
    value: float | None = strawberry.field(description="Null when nullReason says why.")
    reporting_units: int = strawberry.field(
        description="Units below (the unit included) that reported the element in the period."
    )
    expected_units: int = strawberry.field(
        description="Current units below (the unit included) at the levels that report it."
    )
    null_reason: str | None

    @classmethod
    def from_result(cls, found: AggregateResult) -> Aggregate:
        return cls(
            value=found.value,
            reporting_units=found.reporting_units,
            expected_units=found.expected_units,
            null_reason=found.null_reason,
        )


@strawberry.type(
    description="numerator / denominator * factor over a unit's subtree, with its provenance. "
    "Numerator and denominator are summed up the tree first: never an average of rates."
)
class IndicatorValue:
    code: str
    name: str
    unit: str = strawberry.field(description="‰, %, 元/人, …")
    value: float | None = strawberry.field(description="Null when nullReason says why.")
    numerator: float | None
    denominator: float | None
    reporting_units: int = strawberry.field(
        description="Units that reported the least complete element of either side (the "
        "smallest share of its expected units): the figure is no more complete than that."
    )
    expected_units: int = strawberry.field(
        description="Units expected to report that least complete element."
    )
    numerator_reporting_units: int = strawberry.field(
        description="Units that reported the numerator's least complete element."
    )
    denominator_reporting_units: int = strawberry.field(
        description="Units that reported the denominator's least complete element."
    )
    null_reason: str | None

    @classmethod
    def from_result(cls, found: IndicatorResult) -> IndicatorValue:
        return cls(
            code=found.code,
            name=found.name,
            unit=found.unit,
            value=found.value,
            numerator=found.numerator,
            denominator=found.denominator,
            reporting_units=found.reporting_units,
            expected_units=found.expected_units,
            numerator_reporting_units=found.numerator_reporting_units,
            denominator_reporting_units=found.denominator_reporting_units,
            null_reason=found.null_reason,
        )


@strawberry.enum(description="What a grid column holds.")
class ColumnKind(Enum):
    INDICATOR = "indicator"
    ELEMENT = "element"


@strawberry.type(description="One indicator or element for every row of a grid, in row order.")
class RollupColumn:
    code: str
    kind: ColumnKind
    name: str
    unit: str
    values: list[float | None]
    numerators: list[float | None] = strawberry.field(
        description="For an element column, its values again."
    )
    denominators: list[float | None] = strawberry.field(description="For an element column, nulls.")
    reporting_units: list[int]
    expected_units: list[int]
    null_reasons: list[str | None]

    @classmethod
    def from_column(cls, column: GridColumn) -> RollupColumn:
        return cls(
            code=column.code,
            kind=ColumnKind(column.kind),
            name=column.name,
            unit=column.unit,
            values=[c.value for c in column.cells],
            numerators=column.numerators(),
            denominators=column.denominators(),
            reporting_units=[c.reporting_units for c in column.cells],
            expected_units=[c.expected_units for c in column.cells],
            null_reasons=[c.null_reason for c in column.cells],
        )


@strawberry.type(
    description="Every current unit at one level under a root, one row each, with the "
    "indicators and elements asked as columns (parallel lists in row order)."
)
class RollupGrid:
    period: str
    level: Level
    codes: list[str] = strawberry.field(description="Each row's jurisdiction code.")
    names: list[str]
    columns: list[RollupColumn]
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")
    grid: strawberry.Private[Grid]

    @strawberry.field(description="How many units the whole grid has, over every page.")
    async def total_count(self) -> int:
        return await self.grid.total()

    @strawberry.field(
        description="Open validation violations in each row's subtree (the unit included) "
        "whose period lies inside the grid's, in row order; needs values:read at the root."
    )
    async def violations(self, info: Info, importance: Importance | None = None) -> list[int]:
        return await grids.violation_counts(info.context, self.grid, importance=importance)

    @classmethod
    def from_grid(cls, grid: Grid) -> RollupGrid:
        return cls(
            period=str(grid.period),
            level=grid.level,
            codes=[unit.code for unit in grid.units],
            names=[unit.name for unit in grid.units],
            columns=[RollupColumn.from_column(column) for column in grid.columns],
            has_next_page=grid.has_next,
            end_cursor=grid.end_cursor,
            grid=grid,
        )


@strawberry.type(description="One indicator of one unit over consecutive periods.")
class Series:
    code: str
    name: str
    indicator: str
    unit: str
    periods: list[str]
    values: list[float | None]
    numerators: list[float | None]
    denominators: list[float | None]
    reporting_units: list[int]
    expected_units: list[int]
    null_reasons: list[str | None]

    @classmethod
    def from_result(cls, found: SeriesResult) -> Series:
        results = found.results
        return cls(
            code=found.unit.code,
            name=found.unit.name,
            indicator=found.indicator.code,
            unit=found.indicator.unit,
            periods=[str(period) for period in found.periods],
            values=[r.value for r in results],
            numerators=[r.numerator for r in results],
            denominators=[r.denominator for r in results],
            reporting_units=[r.reporting_units for r in results],
            expected_units=[r.expected_units for r in results],
            null_reasons=[r.null_reason for r in results],
        )


@strawberry.input(description="Order a grid's rows by one of its columns instead of by code.")
class RollupOrder:
    column: str = strawberry.field(description="An indicator or element code among those asked.")
    descending: bool = False
