"""The change feed for one caller: check, read a page, read the moved aggregates afresh.

The same checks as the grid of the same root, level and codes (resolvers.rollups.grid):
aggregates or indicators at the root, values where figures at the level are reports. Every
aggregate of the page lies under the root, so inside the caller's scope.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from authz.roles import Action
from core.errors import BadUserInput, NotFound, shown
from indicators.catalogue_index import CatalogueIndex, ElementInfo, IndicatorInfo
from indicators.feed.changes import ChangedAggregate, Position, Reset, head, read_page
from indicators.periods import Period, PeriodType
from indicators.rollups.evaluation import (
    Aggregate,
    IndicatorResult,
    UnitBucket,
    element_aggregate,
    indicator_result,
)
from resolvers.context import Context
from resolvers.jurisdictions.queries import visible_unit
from resolvers.pagination import page_size
from resolvers.rollups.loaders import FiguresLoader
from resolvers.rollups.queries import (
    MAX_CODES,
    bucket_of,
    element_argument,
    indicator_argument,
    require_figures,
)
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import path_codes

DEFAULT_PAGE = 500


@dataclass(frozen=True, slots=True)
class FeedChange:
    """One aggregate as it is now, that moved after the caller's cursor."""

    unit: Jurisdiction
    period: Period
    kind: str  # "element" or "indicator"
    code: str
    figure: Aggregate | IndicatorResult
    cursor: str  # the position of its latest change


@dataclass(frozen=True, slots=True)
class ChangesResult:
    changes: list[FeedChange]
    resets: list[Reset]
    end_cursor: str
    has_more: bool


@dataclass(frozen=True, slots=True)
class _Asked:
    elements: list[ElementInfo]  # reported as elements
    indicators: list[IndicatorInfo]
    watched: list[ElementInfo] | None  # whose changes matter; None: every element


def _asked(
    index: CatalogueIndex, elements: list[str] | None, indicators: list[str] | None
) -> _Asked:
    if len(elements or []) + len(indicators or []) > MAX_CODES:
        raise BadUserInput(f"elements and indicators: at most {MAX_CODES} codes")
    chosen = [element_argument(index, c, argument="elements") for c in elements or []]
    measured = [indicator_argument(index, c, argument="indicators") for c in indicators or []]
    if elements is None and indicators is None:
        every = [index.elements[code] for code in sorted(index.elements)]
        return _Asked(every, [], None)
    inputs = [e for info in measured for e in index.read_by(info)]
    watched = list({id(e): e for e in [*chosen, *inputs]}.values())
    return _Asked(chosen, measured, watched)


async def _root(
    context: Context, under: str, level: Level, asked: _Asked
) -> tuple[Jurisdiction, _Asked]:
    root = await visible_unit(context, under, argument="under")
    if root is None:
        raise NotFound(f"under: no jurisdiction has code {shown(under)}")
    if asked.elements:
        context.require(Action.READ_AGGREGATES, root)
    if asked.indicators:
        context.require(Action.READ_INDICATORS, root)
    if level.depth < root.level.depth:
        raise BadUserInput(f"level: {level.value} lies above {root.code}, a {root.level.value}")
    asked = _readable(context, root, level, asked)
    read = asked.watched if asked.watched is not None else asked.elements
    require_figures(context, root, level=level, elements=read)
    return root, asked


def _readable(context: Context, root: Jurisdiction, level: Level, asked: _Asked) -> _Asked:
    """Every element, when none was named: those the caller may read at the level (an
    element whose figures there are reported values needs values read at the root)."""
    if asked.watched is not None or context.scope(Action.READ_VALUES).contains(root.path):
        return asked
    readable = [e for e in asked.elements if not e.raw_at(level)]
    if not readable:
        return asked  # refused below, naming an element
    return _Asked(readable, [], readable)


def _action(asked: _Asked) -> Action:
    return Action.READ_AGGREGATES if asked.elements else Action.READ_INDICATORS


async def changes(
    context: Context,
    *,
    under: str,
    level: Level,
    period_type: PeriodType,
    after: str | None,
    first: int | None,
    elements: list[str] | None,
    indicators: list[str] | None,
) -> ChangesResult:
    """The aggregates at the level under the root that moved after the cursor, as they are
    now, in the order of their latest change; the resets among them; the next cursor."""
    # UNAUTHENTICATED without a caller, before any argument is judged: an anonymous caller
    # learns nothing of the catalogue or the tree from the errors.
    context.scope(Action.READ_TREE)
    index = await context.catalogue()
    asked = _asked(index, elements, indicators)
    if not asked.elements and not asked.indicators:
        raise BadUserInput("elements, indicators: ask for at least one code")
    root, asked = await _root(context, under, level, asked)
    try:
        position = Position.parse(after)
    except ValueError as error:
        raise BadUserInput(f"after: {error}") from None
    limit = page_size(first if first is not None else DEFAULT_PAGE)
    if limit == 0:
        raise BadUserInput("first: a page of the feed holds at least 1 aggregate")
    action = _action(asked)
    page = await read_page(
        context.session,
        index,
        scope=context.scope(action),
        root_path=root.path,
        level=level,
        period_type=period_type,
        elements=asked.watched,
        after=position,
        first=limit,
    )
    found = await _figures(context, index, asked, action, page.aggregates)
    return ChangesResult(found, page.resets, page.end.cursor(), page.has_more)


async def _figures(
    context: Context,
    index: CatalogueIndex,
    asked: _Asked,
    action: Action,
    moved: list[ChangedAggregate],
) -> list[FeedChange]:
    codes = sorted({path_codes(aggregate.path)[-1] for aggregate in moved})
    loaded = await context.tree.by_code.load_many(codes)
    units = {unit.path: unit for unit in loaded if unit is not None}
    # Per unit and period: the elements that moved there, in feed order of their first.
    cells: dict[tuple[str, Period], list[ChangedAggregate]] = defaultdict(list)
    for aggregate in moved:
        if aggregate.path in units:
            cells[(aggregate.path, aggregate.period)].append(aggregate)
    reported = {element.id for element in asked.elements}
    keys = list(cells)
    buckets: list[UnitBucket] = []
    for path, period in keys:
        read = [a.element for a in cells[(path, period)]]
        read += [e for info in asked.indicators for e in index.read_by(info)]
        buckets.append(bucket_of(units[path], period, read))
    figures = await context.loader(FiguresLoader, action).load_many(buckets)
    found: list[FeedChange] = []
    for (path, period), bucket, figure in zip(keys, buckets, figures, strict=True):
        unit, here = units[path], cells[(path, period)]
        for aggregate in here:
            element = aggregate.element
            if element.id in reported:
                combos = element.combos.values()
                value = element_aggregate(element, combos, period, bucket, figure)
                found.append(
                    FeedChange(unit, period, "element", element.code, value, _cursor(aggregate))
                )
        moved_here = {aggregate.element.code for aggregate in here}
        latest = max(here, key=lambda a: a.latest)
        for info in asked.indicators:
            if moved_here & (info.numerator.elements | info.denominator.elements):
                result = indicator_result(index, info, period, bucket, figure)
                found.append(
                    FeedChange(unit, period, "indicator", info.code, result, _cursor(latest))
                )
    return found


def _cursor(aggregate: ChangedAggregate) -> str:
    return aggregate.latest.cursor()


async def feed_head(context: Context) -> str:
    """The cursor after everything committed now (no data: a number of commits)."""
    context.scope(Action.READ_TREE)  # UNAUTHENTICATED without a caller
    return (await head(context.session)).cursor()
