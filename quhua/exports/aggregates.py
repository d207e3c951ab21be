"""The rows of an aggregates export, a page of units at a time, from the roll-up grid.

Each page is a call of the grid itself (`resolvers.rollups.grid.rollup`), so that access
checks, period rules, figures, completeness and approved-only withholding are exactly
GraphQL's; an element's options come from the same figures (the request's loader holds
them) and the same plans. Memory stays flat: each page's loaders and figures are dropped
before the next page is read.

Order: periods as stepped, units by path, columns as asked (indicators, then elements),
an element's combos by key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from authz.roles import Action
from core.errors import BadUserInput
from indicators.catalogue_index import CatalogueIndex, ElementInfo, IndicatorInfo
from indicators.periods import Period, PeriodType
from indicators.reporting.coverage import unapproved
from indicators.rollups.evaluation import Aggregate, ElementPlan, IndicatorResult
from quhua.exports.arguments import export_root
from quhua.exports.cursors import (
    AggregatePosition,
    aggregate_cursor,
    decode_aggregate_cursor,
    fingerprint,
)
from quhua.exports.periods import export_periods
from resolvers.context import Context
from resolvers.pagination import MAX_PAGE_SIZE, path_cursor
from resolvers.rollups.grid import Grid, rollup
from resolvers.rollups.loaders import FiguresLoader
from resolvers.rollups.queries import (
    bucket_of,
    element_argument,
    indicator_argument,
    not_approved,
    withheld,
)
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import path_codes

UNITS_PER_PAGE = MAX_PAGE_SIZE
# Approval of a unit's figures for a period (coverage.unapproved): every month of it is
# approved data, some are, or none (empty).
APPROVED = "approved"
PARTLY_APPROVED = "partly_approved"


@dataclass(frozen=True, slots=True)
class AggregatesAsked:
    under: str
    level: Level
    first: str
    last: str
    period_type: PeriodType | None = None
    indicators: tuple[str, ...] = ()
    elements: tuple[str, ...] = ()
    disaggregate: bool = False
    approved_only: bool = False

    @property
    def print(self) -> str:
        """What a cursor of this export must have been issued for."""
        return fingerprint(
            "aggregates",
            self.under,
            self.level.value,
            self.first,
            self.last,
            self.period_type.value if self.period_type else "",
            ",".join(self.indicators),
            ",".join(self.elements),
            self.disaggregate,
            self.approved_only,
        )


class AggregateRow(NamedTuple):
    code: str
    name: str
    element: str  # the element's or the indicator's code
    kind: str  # "indicator" or "element"
    period: Period
    disaggregation: str  # a combo key; empty for a total or an indicator
    value: float | None
    numerator: float | None
    denominator: float | None
    reporting: int
    expected: int
    approval: str
    null_reason: str | None
    position: AggregatePosition


def _approval(missing: int, months: int) -> str:
    if missing == 0:
        return APPROVED
    return PARTLY_APPROVED if missing < months else ""


class AggregateExport:
    """Aggregates of every unit at a level under a root, period by period."""

    kind = "aggregates"

    def __init__(
        self,
        context: Context,
        asked: AggregatesAsked,
        *,
        after: str | None = None,
        units_per_page: int | None = None,
    ) -> None:
        self.context = context
        self.asked = asked
        self.after = after
        self.units_per_page = units_per_page or UNITS_PER_PAGE
        self.print = asked.print
        self.periods: list[Period] = []
        self.elements: list[ElementInfo] = []
        self.position: AggregatePosition | None = None

    @property
    def name_parts(self) -> tuple[str, str, str]:
        return (self.asked.under, self.asked.first, self.asked.last)

    def cursor(self, row: AggregateRow) -> str:
        return aggregate_cursor(self.print, row.position)

    @property
    def options_shown(self) -> list[ElementInfo]:
        return self.elements if self.asked.disaggregate else []

    def row_count(self, page: Sequence[AggregateRow]) -> int:
        return len(page)

    async def prepare(self) -> None:
        """Check every argument before anything is sent: the grid checks access, the
        level, the columns and their figures for the first period, on an empty page."""
        asked = self.asked
        index = await self.context.catalogue()
        self.periods = export_periods(index, asked.first, asked.last, asked.period_type)
        for code in asked.indicators:
            indicator_argument(index, code, argument="indicators")
        self.elements = [
            element_argument(index, code, argument="elements") for code in asked.elements
        ]
        root = await export_root(self.context, asked.under)
        await self._grid(self.periods[0], under=asked.under, first=0, after_path=None)
        position = decode_aggregate_cursor(self.after, self.print)
        if position is not None:
            if not position.path.startswith(root.path):
                raise BadUserInput(f"after: the cursor's unit does not lie under {root.code}")
            if position.month_index not in {p.month_index for p in self.periods}:
                raise BadUserInput("after: the cursor's period is not among the export's")
        self.position = position

    async def count_units(self) -> int:
        """Units of the first period's grid (for a progress bar)."""
        grid = await self._grid(self.periods[0], under=self.asked.under, first=0, after_path=None)
        return await grid.total()

    async def _grid(
        self, period: Period, *, under: str, first: int, after_path: str | None
    ) -> Grid:
        asked = self.asked
        return await rollup(
            self.context,
            under=under,
            level=asked.level,
            period=str(period),
            indicators=list(asked.indicators),
            elements=list(asked.elements),
            order=None,
            first=first,
            after=path_cursor(after_path) if after_path is not None else None,
            approved_only=asked.approved_only,
        )

    async def pages(self) -> AsyncIterator[list[AggregateRow]]:
        """Pages of rows in the export's order, after the cursor if one was given."""
        position = self.position
        for period in self.periods:
            if position is not None and period.month_index < position.month_index:
                continue
            after_path: str | None = None
            if position is not None and period.month_index == position.month_index:
                # The rest of the cursor's unit: the unit's own one-row grid.
                unit_code = path_codes(position.path)[-1]
                grid = await self._grid(period, under=unit_code, first=1, after_path=None)
                rest = [
                    row
                    for row in await self._rows(grid)
                    if row.position.path == position.path
                    and (row.position.column, row.position.combo)
                    > (position.column, position.combo)
                ]
                self.context.forget()
                yield rest
                after_path = position.path
            while True:
                grid = await self._grid(
                    period, under=self.asked.under, first=self.units_per_page, after_path=after_path
                )
                rows = await self._rows(grid)
                # Each page's loaders, figures and tree go: memory stays one page's.
                self.context.forget()
                yield rows
                if not grid.has_next or not grid.units:
                    break
                after_path = grid.units[-1].path

    async def _rows(self, grid: Grid) -> list[AggregateRow]:
        units = grid.units
        if not units:
            return []
        period = grid.period
        months = [month.month_index for month in period.months()]
        missing = await unapproved(self.context.session, units, months)
        options = await self._options(grid) if self.asked.disaggregate else {}
        rows: list[AggregateRow] = []
        add = rows.append
        for row, unit in enumerate(units):
            approval = _approval(len(missing[unit.id]), len(months))
            for number, column in enumerate(grid.columns):
                combos = options.get(number)
                if combos is None:
                    cell = column.cells[row]
                    add(_row(unit, period, column.code, number, "", cell, approval))
                    continue
                for key, cells in combos:
                    add(_row(unit, period, column.code, number, key, cells[row], approval))
        return rows

    async def _options(self, grid: Grid) -> dict[int, list[tuple[str, list[Aggregate]]]]:
        """Each element column with categories: its combos by key, a cell per unit, from the
        figures the grid read (the request's loader holds them) and the grid's own plans."""
        index = await self.context.catalogue()
        columns = [_info(index, column.code, column.kind) for column in grid.columns]
        read = [
            element
            for info in columns
            for element in (index.read_by(info) if isinstance(info, IndicatorInfo) else [info])
        ]
        wanted = [
            (number, info)
            for number, info in enumerate(columns)
            if isinstance(info, ElementInfo) and info.categories
        ]
        if not wanted:
            return {}
        buckets = [bucket_of(unit, grid.period, read) for unit in grid.units]
        action = Action.READ_INDICATORS if self.asked.indicators else Action.READ_AGGREGATES
        figures = await self.context.loader(FiguresLoader, action).load_many(buckets)
        reasons = (
            await not_approved(self.context, list(grid.units), grid.period)
            if self.asked.approved_only
            else None
        )
        found: dict[int, list[tuple[str, list[Aggregate]]]] = {}
        for number, info in wanted:
            combos = []
            for key in sorted(info.combos):
                plan = ElementPlan.of(info, [info.combos[key]], grid.period)
                cells = [
                    plan.aggregate(bucket, figure)
                    for bucket, figure in zip(buckets, figures, strict=True)
                ]
                if reasons is not None:
                    cells = [
                        withheld(cell, reasons[unit.id])
                        for cell, unit in zip(cells, grid.units, strict=True)
                    ]
                combos.append((key, cells))
            found[number] = combos
        return found


def _info(index: CatalogueIndex, code: str, kind: str) -> IndicatorInfo | ElementInfo:
    return index.indicators[code] if kind == "indicator" else index.elements[code]


def _row(  # noqa: PLR0917 - one row's fields, built in one place
    unit: Jurisdiction,
    period: Period,
    code: str,
    column: int,
    key: str,
    cell: IndicatorResult | Aggregate,
    approval: str,
) -> AggregateRow:
    if isinstance(cell, IndicatorResult):
        kind, numerator, denominator = "indicator", cell.numerator, cell.denominator
    else:
        # As the grid answers: an element's numerator is its value; it has no denominator.
        kind, numerator, denominator = "element", cell.value, None
    return AggregateRow(
        unit.code,
        unit.name,
        code,
        kind,
        period,
        key,
        cell.value,
        numerator,
        denominator,
        cell.reporting_units,
        cell.expected_units,
        approval,
        cell.null_reason,
        AggregatePosition(period.month_index, unit.path, column, key),
    )
