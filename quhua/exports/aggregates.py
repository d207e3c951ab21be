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
from dataclasses import dataclass, field
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
from resolvers.rollups.grid import Grid, elements_read, rollup
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
# (unit, period) pairs whose figures one read ahead loads: every county of a province for
# every month of a year is a few hundred, the villages of a province for a month thousands.
BUCKETS_AHEAD = 5000
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
    path: str  # the unit's
    column: int  # the column's place among those asked

    @property
    def position(self) -> AggregatePosition:
        """Where the row sits in the export's order (what its cursor says)."""
        return AggregatePosition(
            self.period.month_index, self.path, self.column, self.disaggregation
        )


@dataclass(frozen=True, slots=True)
class _Ahead:
    """What a read ahead found: the periods it read, the months of their approvals, and
    for each unit read the months not approved."""

    periods: frozenset[int] | set[int] = frozenset()
    months: frozenset[int] | set[int] = frozenset()
    missing: dict[int, set[int]] = field(default_factory=dict)

    def missing_of(
        self, units: Sequence[Jurisdiction], months: Sequence[int]
    ) -> dict[int, set[int]] | None:
        """The units' months not approved, if the read ahead covered them all."""
        if not self.months.issuperset(months) or any(u.id not in self.missing for u in units):
            return None
        return self.missing


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
        self._ahead = _Ahead()

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
        periods = [
            period
            for period in self.periods
            if position is None or period.month_index >= position.month_index
        ]
        for number, period in enumerate(periods):
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
                self._forget()
                yield rest
                after_path = position.path
            while True:
                grid = await self._grid(
                    period, under=self.asked.under, first=self.units_per_page, after_path=after_path
                )
                whole = after_path is None and not grid.has_next
                if whole and period.month_index not in self._ahead.periods:
                    await self._read_ahead(grid, periods[number:])
                rows = await self._rows(grid)
                following = periods[number + 1] if number + 1 < len(periods) else None
                if (
                    not whole
                    or following is None
                    or (following.month_index not in self._ahead.periods)
                ):
                    self._forget()
                yield rows
                if not grid.has_next or not grid.units:
                    break
                after_path = grid.units[-1].path

    def _forget(self) -> None:
        """Each page's loaders, figures and tree go: memory stays one page's (or one
        read-ahead's); the catalogue the arguments were checked against stays."""
        self.context.forget(catalogue=False)
        self._ahead = _Ahead()

    async def _read_ahead(self, grid: Grid, periods: Sequence[Period]) -> None:
        """Every unit of the level fits one page: read the figures and approvals of this
        period and the next ones together (the grids then find the figures loaded), as
        many periods as keep one read to about BUCKETS_AHEAD (unit, period) pairs."""
        count = max(1, BUCKETS_AHEAD // max(1, len(grid.units)))
        chosen = list(periods[:count])
        index = await self.context.catalogue()
        read = elements_read(index, [_info(index, c.code, c.kind) for c in grid.columns])
        buckets = [bucket_of(unit, period, read) for period in chosen[1:] for unit in grid.units]
        await self.context.loader(FiguresLoader, self._action).load_many(buckets)
        months = [month.month_index for period in chosen for month in period.months()]
        missing = await unapproved(self.context.session, grid.units, months)
        self._ahead = _Ahead(
            {period.month_index for period in chosen},
            set(months),
            {unit_id: set(found) for unit_id, found in missing.items()},
        )

    @property
    def _action(self) -> Action:
        # The grid's loader: figures as indicators need them, else as aggregates.
        return Action.READ_INDICATORS if self.asked.indicators else Action.READ_AGGREGATES

    async def _rows(self, grid: Grid) -> list[AggregateRow]:
        units = grid.units
        if not units:
            return []
        period = grid.period
        months = [month.month_index for month in period.months()]
        missing = self._ahead.missing_of(units, months)
        if missing is None:
            missing = {
                unit_id: set(found)
                for unit_id, found in (
                    await unapproved(self.context.session, units, months)
                ).items()
            }
        options = await self._options(grid) if self.asked.disaggregate else {}
        rows: list[AggregateRow] = []
        add = rows.append
        columns = list(enumerate(grid.columns))
        for row, unit in enumerate(units):
            # The ORM's attributes read once per unit, not once per row.
            own = (unit.code, unit.name, unit.path)
            approval = _approval(len(missing[unit.id].intersection(months)), len(months))
            for number, column in columns:
                combos = options.get(number)
                if combos is None:
                    cell = column.cells[row]
                    add(_row(own, period, column.code, number, "", cell, approval))
                    continue
                for key, cells in combos:
                    add(_row(own, period, column.code, number, key, cells[row], approval))
        return rows

    async def _options(self, grid: Grid) -> dict[int, list[tuple[str, list[Aggregate]]]]:
        """Each element column with categories: its combos by key, a cell per unit, from the
        figures the grid read (the request's loader holds them) and the grid's own plans."""
        index = await self.context.catalogue()
        columns = [_info(index, column.code, column.kind) for column in grid.columns]
        read = elements_read(index, columns)
        wanted = [
            (number, info)
            for number, info in enumerate(columns)
            if isinstance(info, ElementInfo) and info.categories
        ]
        if not wanted:
            return {}
        buckets = [bucket_of(unit, grid.period, read) for unit in grid.units]
        figures = await self.context.loader(FiguresLoader, self._action).load_many(buckets)
        reasons = (
            await not_approved(self.context, list(grid.units), grid.period)
            if self.asked.approved_only
            else None
        )
        found: dict[int, list[tuple[str, list[Aggregate]]]] = {}
        for number, info in wanted:
            keys = sorted(info.combos)
            plan = ElementPlan.of(info, [info.combos[key] for key in keys], grid.period)
            # Per unit, each combo's aggregate; then per combo, each unit's.
            units = [
                plan.each_combo(bucket, figure)
                for bucket, figure in zip(buckets, figures, strict=True)
            ]
            if reasons is not None:
                units = [
                    [withheld(cell, reasons[unit.id]) for cell in cells]
                    for cells, unit in zip(units, grid.units, strict=True)
                ]
            found[number] = [
                (key, [cells[place] for cells in units]) for place, key in enumerate(keys)
            ]
        return found


def _info(index: CatalogueIndex, code: str, kind: str) -> IndicatorInfo | ElementInfo:
    return index.indicators[code] if kind == "indicator" else index.elements[code]


def _row(  # noqa: PLR0917 - one row's fields, built in one place
    unit: tuple[str, str, str],  # the unit's code, name and path
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
    code_of_unit, name, path = unit
    return AggregateRow(
        code_of_unit,
        name,
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
        path,
        column,
    )
