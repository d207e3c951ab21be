"""The roll-up grid: every unit at one level under a root, with the indicators and elements
asked, for one period. A page costs the same few statements whatever its length.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from authz.roles import Action
from core.errors import BadUserInput, NotFound, shown
from indicators.catalogue_index import CatalogueIndex, ElementInfo, IndicatorInfo
from indicators.periods import Period
from indicators.rollups.evaluation import (
    Aggregate,
    ElementPlan,
    Figures,
    IndicatorPlan,
    IndicatorResult,
    UnitBucket,
)
from indicators.validation import listing
from indicators.validation.rules import Importance
from resolvers.context import Context
from resolvers.jurisdictions.queries import visible_unit
from resolvers.pagination import (
    decode_id_cursor,
    decode_path_cursor,
    id_cursor,
    page_size,
    path_cursor,
)
from resolvers.periods import period_argument
from resolvers.rollups.loaders import FiguresLoader
from resolvers.rollups.queries import (
    MAX_CODES,
    bucket_of,
    element_argument,
    indicator_argument,
    not_approved,
    require_figures,
    withheld,
)
from tenancy import repository
from tenancy.levels import Level
from tenancy.models import Jurisdiction

# Ordering by a value needs every unit's figures before the first page.
MAX_ORDERED_UNITS = 5000


@dataclass(frozen=True, slots=True)
class GridColumn:
    code: str
    kind: str  # "indicator" or "element"
    name: str
    unit: str
    cells: list[IndicatorResult | Aggregate]

    def value(self, row: int) -> float | None:
        return self.cells[row].value

    def numerators(self) -> list[float | None]:
        """An indicator's numerators; an element's values."""
        return [c.numerator if isinstance(c, IndicatorResult) else c.value for c in self.cells]

    def denominators(self) -> list[float | None]:
        """An indicator's denominators; nulls for an element."""
        return [c.denominator if isinstance(c, IndicatorResult) else None for c in self.cells]


@dataclass(frozen=True, slots=True)
class Grid:
    root: Jurisdiction
    period: Period
    level: Level
    units: list[Jurisdiction]
    columns: list[GridColumn]
    has_next: bool
    end_cursor: str | None
    total: Callable[[], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class GridOrder:
    column: str
    descending: bool


def _columns(
    index: CatalogueIndex, indicators: list[str], elements: list[str]
) -> list[IndicatorInfo | ElementInfo]:
    if len(indicators) + len(elements) > MAX_CODES:
        raise BadUserInput(f"indicators and elements: at most {MAX_CODES} columns")
    if not indicators and not elements:
        raise BadUserInput("indicators, elements: ask for at least one column")
    chosen: list[IndicatorInfo | ElementInfo] = [
        indicator_argument(index, code, argument="indicators") for code in indicators
    ]
    chosen += [element_argument(index, code, argument="elements") for code in elements]
    return chosen


def elements_read(
    index: CatalogueIndex, columns: Sequence[IndicatorInfo | ElementInfo]
) -> list[ElementInfo]:
    """The elements whose figures the columns are computed from, in the columns' order:
    the figures' buckets name them, so every reader of a grid's figures asks the same."""
    return [
        element
        for column in columns
        for element in (index.read_by(column) if isinstance(column, IndicatorInfo) else [column])
    ]


def _evaluate(
    index: CatalogueIndex,
    column: IndicatorInfo | ElementInfo,
    period: Period,
    buckets: list[UnitBucket],
    figures: list[Figures],
) -> GridColumn:
    if isinstance(column, IndicatorInfo):
        plan = IndicatorPlan.of(index, column, period)
        cells: list[IndicatorResult | Aggregate] = [
            plan.result(b, f) for b, f in zip(buckets, figures, strict=True)
        ]
        return GridColumn(column.code, "indicator", column.name, column.unit, cells)
    element = ElementPlan.of(column, column.combos.values(), period)
    cells = [element.aggregate(b, f) for b, f in zip(buckets, figures, strict=True)]
    return GridColumn(column.code, "element", column.name, "", cells)


async def rollup(
    context: Context,
    *,
    under: str,
    level: Level,
    period: str,
    indicators: list[str],
    elements: list[str],
    order: GridOrder | None,
    first: int | None,
    after: str | None,
    approved_only: bool = False,
) -> Grid:
    """One row per unit at the level under the root not retired before the period began,
    one column per code asked."""
    root = await visible_unit(context, under, argument="under")
    if root is None:
        raise NotFound(f"under: no jurisdiction has code {shown(under)}")
    actions = [Action.READ_INDICATORS] * bool(indicators) + [Action.READ_AGGREGATES] * bool(
        elements
    )
    for action in actions:
        context.require(action, root)
    if level.depth < root.level.depth:
        raise BadUserInput(f"level: {level.value} lies above {root.code}, a {root.level.value}")
    index = await context.catalogue()
    columns = _columns(index, indicators, elements)
    read = elements_read(index, columns)
    require_figures(context, root, level=level, elements=read)
    asked = period_argument(index, period)
    limit = page_size(first)
    scope = context.scope(actions[0])
    tree_filter = repository.TreeFilter(level=level, under_path=root.path, present_on=asked.start)

    async def total() -> int:
        return await repository.count(context.session, scope, tree_filter=tree_filter)

    loader = context.loader(FiguresLoader, actions[0])
    if order is None:
        after_path = decode_path_cursor(after)
        rows = await repository.page(
            context.session, scope, tree_filter=tree_filter, after_path=after_path, limit=limit + 1
        )
        units = list(rows[:limit])
        buckets = [bucket_of(unit, asked, read) for unit in units]
        figures = await loader.load_many(buckets)
        evaluated = [_evaluate(index, column, asked, buckets, figures) for column in columns]
        if approved_only:
            evaluated = await _approved_only(context, units, asked, evaluated)
        last = path_cursor(units[-1].path) if units else None
        return Grid(root, asked, level, units, evaluated, len(rows) > limit, last, total)
    # Ordered by a value: every unit's figures first, then a page by offset.
    rows = await repository.page(
        context.session,
        scope,
        tree_filter=tree_filter,
        after_path=None,
        limit=MAX_ORDERED_UNITS + 1,
    )
    if len(rows) > MAX_ORDERED_UNITS:
        raise BadUserInput(
            f"orderBy: ordering by a value works on at most {MAX_ORDERED_UNITS} units; "
            f"choose a smaller root or a higher level, or leave the grid in code order"
        )
    codes = [column.code for column in columns]
    if order.column not in codes:
        raise BadUserInput(f"orderBy: column {shown(order.column)} is not among those asked")
    key = codes.index(order.column)
    buckets = [bucket_of(unit, asked, read) for unit in rows]
    figures = await loader.load_many(buckets)
    evaluated = [_evaluate(index, column, asked, buckets, figures) for column in columns]
    if approved_only:
        evaluated = await _approved_only(context, list(rows), asked, evaluated)
    values = evaluated[key]

    def rank(row: int) -> tuple[bool, float, str]:
        found = values.value(row)
        if found is None:
            return (True, 0.0, rows[row].code)
        return (False, -found if order.descending else found, rows[row].code)

    ranked = sorted(range(len(rows)), key=rank)
    offset = decode_id_cursor(after) or 0
    on_page = ranked[offset : offset + limit]
    end = offset + len(on_page)
    return Grid(
        root,
        asked,
        level,
        [rows[row] for row in on_page],
        [
            GridColumn(c.code, c.kind, c.name, c.unit, [c.cells[row] for row in on_page])
            for c in evaluated
        ],
        end < len(ranked),
        id_cursor(end) if on_page else None,
        total,
    )


async def _approved_only(
    context: Context, units: list[Jurisdiction], period: Period, columns: list[GridColumn]
) -> list[GridColumn]:
    """The columns with the figures of rows that are not approved data withheld."""
    reasons = await not_approved(context, units, period)
    return [
        GridColumn(
            c.code,
            c.kind,
            c.name,
            c.unit,
            [withheld(cell, reasons[unit.id]) for cell, unit in zip(c.cells, units, strict=True)],
        )
        for c in columns
    ]


async def violation_counts(
    context: Context, grid: Grid, *, importance: Importance | None
) -> list[int]:
    """Open validation violations in each row's subtree whose period lies inside the
    grid's, in row order: one statement for the page. They check raw values: FORBIDDEN
    without values:read at the root."""
    context.require(Action.READ_VALUES, grid.root)
    rules = await listing.stored_rules(context.session, await context.catalogue())
    rules = [rule for rule in rules if importance is None or rule.importance is importance]
    counts = await listing.open_counts(
        context.session,
        context.scope(Action.READ_VALUES),
        units=grid.units,
        period=grid.period,
        rules=rules,
    )
    return [counts.get(unit.id, 0) for unit in grid.units]
