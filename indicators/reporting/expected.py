"""Who is expected to report for a month: the levels the catalogue has due then, and the
units of those levels as the tree stood in that month.

What holds: a report counts only for a unit that is expected, so no rate passes 100%.
A unit is expected in a month when it was not retired before the month began and began
before the month ended; units of the tree's first load are taken to have existed before it
(the load says the tree as of that day, not when each unit began).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, func, or_, select

from core.db.session import RequestSession
from core.errors import BadUserInput
from indicators.catalogue_index import CatalogueIndex, ElementInfo
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.scope import unscoped

CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "UTC+08:00")


def month_text(month_index: int) -> str:
    return f"{month_index // 12}-{month_index % 12 + 1:02d}"


def month_start(month_index: int) -> dt.date:
    return dt.date(month_index // 12, month_index % 12 + 1, 1)


def check_month_ended(month_index: int, now: dt.datetime) -> None:
    """BAD_USER_INPUT unless the month is over in China Standard Time (UTC+8, no daylight
    saving): a month is reported and approved once it has ended."""
    if month_start(month_index + 1) > now.astimezone(CHINA_STANDARD_TIME).date():
        raise BadUserInput(f"period: {month_text(month_index)} has not ended")


def report_month(element: ElementInfo, month_index: int) -> int:
    """The month whose report holds a value of the element whose period starts then: the
    month its period ends in (a quarter's value is in its third month's report)."""
    return month_index + element.period_type.months - 1


def elements_due(index: CatalogueIndex, level: Level, month_index: int) -> list[ElementInfo]:
    """The elements a unit of the level reports in that month's report."""
    return [
        element
        for element in index.elements.values()
        if level in element.reported_at and (month_index + 1) % element.period_type.months == 0
    ]


def reporting_levels(index: CatalogueIndex, month_index: int) -> frozenset[Level]:
    return frozenset(level for level in Level if elements_due(index, level, month_index))


async def tree_start(session: RequestSession) -> dt.date:
    """The day the tree's first load held: the earliest a root began."""
    first = await session.scalar(
        unscoped(
            select(func.min(Jurisdiction.valid_from)).where(Jurisdiction.parent_id.is_(None)),
            why="the day the tree begins is no unit's data",
        )
    )
    return first or dt.date.min


def existed(month_index: int, first_load: dt.date) -> ColumnElement[bool]:
    """Units that existed during the month (see the module's docstring)."""
    start, end = month_start(month_index), month_start(month_index + 1)
    return and_(
        or_(Jurisdiction.valid_to.is_(None), Jurisdiction.valid_to > start),
        or_(Jurisdiction.valid_from < end, Jurisdiction.valid_from <= first_load),
    )


def unit_existed(unit: Jurisdiction, month_index: int, first_load: dt.date) -> bool:
    """The same test as `existed`, for a unit already read."""
    start, end = month_start(month_index), month_start(month_index + 1)
    retired = unit.valid_to is not None and unit.valid_to <= start
    return not retired and (unit.valid_from < end or unit.valid_from <= first_load)
