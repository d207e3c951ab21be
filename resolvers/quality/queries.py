"""Data quality for the units at one level under a root: outliers, implausible indicator
values, consistency checks. Each checks the caller once, then pages through the findings."""

from __future__ import annotations

import base64
import binascii
import re
from typing import TypeVar

from authz.roles import Action
from core.errors import BadUserInput, NotFound, shown
from indicators.periods import Period
from indicators.quality.consistency import ConsistencyResult, consistency_examiner
from indicators.quality.listing import Examine, Position, Units, findings
from indicators.quality.outliers import (
    Outlier,
    OutlierMethod,
    Severity,
    outlier_examiner,
    outlier_search,
)
from indicators.quality.plausibility import Implausible, plausibility_examiner
from indicators.quality.store import quality_settings
from resolvers.context import Context
from resolvers.jurisdictions.queries import visible_unit
from resolvers.pagination import Page, page_size
from resolvers.periods import period_argument
from resolvers.rollups.queries import require_figures
from tenancy.levels import Level

T = TypeVar("T")
_PATH = re.compile(r"^(\d{1,12}/){1,5}$")
_KEY = re.compile(r"^[a-z0-9_=;:]{0,300}$")


def cursor_of(position: Position) -> str:
    return base64.urlsafe_b64encode(f"q:{position.path}|{position.key}".encode()).decode()


def decode_cursor(cursor: str | None, *, argument: str = "after") -> Position | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        text = ""
    kind, _, rest = text.partition(":")
    path, _, key = rest.partition("|")
    if kind != "q" or not _PATH.match(path) or not _KEY.match(key):
        raise BadUserInput(f"{argument}: {shown(cursor)} is not a cursor issued for this list")
    return Position(path, key)


async def _units(
    context: Context, under: str, level: Level, period: Period, action: Action
) -> Units:
    """The units at the level under the root, once the caller may read the action there."""
    root = await visible_unit(context, under, argument="under")
    if root is None:
        raise NotFound(f"under: no jurisdiction has code {shown(under)}")
    context.require(action, root)
    return Units(context.scope(action), root, level, period.start)


async def _page(
    context: Context,
    units: Units,
    examine: Examine[T],
    *,
    first: int | None,
    after: str | None,
) -> Page[T]:
    limit = page_size(first)
    position = decode_cursor(after)
    found, more = await findings(context.session, units, examine, after=position, limit=limit)

    async def total() -> int:
        if position is None and not more:
            return len(found)  # the page holds every finding
        every, _ = await findings(context.session, units, examine, after=None, limit=None)
        return len(every)

    return Page(
        items=[f.item for f in found],
        cursors=[cursor_of(f.position) for f in found],
        has_next=more,
        has_previous=position is not None,
        total=total,
    )


async def outliers(
    context: Context,
    *,
    under: str,
    period: str,
    level: Level,
    element: str | None,
    method: OutlierMethod,
    severity: Severity,
    first: int | None,
    after: str | None,
) -> Page[Outlier]:
    """Values far from their unit's own history, in unit code order, then element and option
    combination."""
    context.scope(Action.READ_AGGREGATES)  # UNAUTHENTICATED before any argument is read
    index = await context.catalogue()
    settings = (await quality_settings(context.session)).outliers
    search = outlier_search(
        index,
        settings,
        level=level,
        period=period,
        element=element,
        method=method,
        severity=severity,
    )
    units = await _units(context, under, level, search.period, Action.READ_AGGREGATES)
    require_figures(context, units.root, level=level, elements=search.elements)
    return await _page(
        context, units, outlier_examiner(context.session, search), first=first, after=after
    )


async def implausible_indicators(
    context: Context,
    *,
    under: str,
    period: str,
    level: Level,
    indicator: str | None,
    first: int | None,
    after: str | None,
) -> Page[Implausible]:
    """Indicator values outside the catalogue's plausible ranges (the range of the indicator
    asked, or every range), in unit code order, then indicator code."""
    context.scope(Action.READ_INDICATORS)  # UNAUTHENTICATED before any argument is read
    index = await context.catalogue()
    asked = period_argument(index, period)
    units = await _units(context, under, level, asked, Action.READ_INDICATORS)
    ranges = (await quality_settings(context.session)).plausible_ranges
    if indicator is not None:
        known = ", ".join(r.indicator for r in ranges) or "none"
        ranges = tuple(r for r in ranges if r.indicator == indicator.strip())
        if not ranges:
            raise BadUserInput(
                f"indicator: the catalogue gives {shown(indicator)} no plausible range "
                f"(ranges are given for: {known})"
            )
    read = [e for r in ranges for e in index.read_by(index.indicators[r.indicator])]
    require_figures(context, units.root, level=level, elements=read)
    examine = plausibility_examiner(context.session, index, asked, ranges)
    return await _page(context, units, examine, first=first, after=after)


async def consistency_checks(
    context: Context,
    *,
    under: str,
    period: str,
    level: Level,
    check: str | None,
    flagged_only: bool,
    first: int | None,
    after: str | None,
) -> Page[ConsistencyResult]:
    """Each unit's figure of each check's element against its reference (the check asked,
    or every check), in unit code order, then check code."""
    context.scope(Action.READ_AGGREGATES)  # UNAUTHENTICATED before any argument is read
    index = await context.catalogue()
    asked = period_argument(index, period)
    units = await _units(context, under, level, asked, Action.READ_AGGREGATES)
    checks = (await quality_settings(context.session)).consistency
    if check is not None:
        chosen = tuple(c for c in checks if c.code == check.strip())
        if not chosen:
            known = ", ".join(c.code for c in checks) or "none"
            raise BadUserInput(
                f"check: no consistency check {shown(check)} (the catalogue's: {known})"
            )
        checks = chosen
    read = [index.elements[code] for c in checks for code in (c.element, c.reference)]
    require_figures(context, units.root, level=level, elements=read)
    examine = consistency_examiner(context.session, index, asked, checks, flagged_only=flagged_only)
    return await _page(context, units, examine, first=first, after=after)
