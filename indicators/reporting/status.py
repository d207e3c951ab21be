"""Completeness and timeliness of a part of the tree: expected, submitted, on time, late,
missing and returned reports of one level, in total and for each unit one level down.

Counted when asked, from the reports and the tree as it stood in each month, so it is as
fresh as the last commit; a report counts only for a unit expected that month
(`expected.existed`), so submitted never exceeds expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, case, exists, func, select
from sqlalchemy import cast as sql_cast

from core.db.session import RequestSession
from core.errors import BadUserInput
from indicators.catalogue_index import CatalogueIndex
from indicators.reporting.expected import existed, reporting_levels, tree_start
from indicators.reporting.models import Report, ReportState
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import within
from tenancy.scope import unscoped

_CHECKED = "the unit was checked against the caller's scope; this counts its subtree"


class FollowUp(StrEnum):
    MISSING = "missing"
    LATE = "late"
    RETURNED = "returned"


@dataclass(slots=True)
class Counts:
    expected: int = 0
    submitted: int = 0
    on_time: int = 0
    returned: int = 0

    @property
    def late(self) -> int:
        return self.submitted - self.on_time

    @property
    def missing(self) -> int:
        return self.expected - self.submitted

    def add(self, other: Counts) -> None:
        self.expected += other.expected
        self.submitted += other.submitted
        self.on_time += other.on_time
        self.returned += other.returned


@dataclass(slots=True)
class Status:
    under: Jurisdiction
    level: Level
    months: list[int]
    total: Counts = field(default_factory=Counts)
    # One row per unit one level below `under` that holds expected units (none when
    # `level` is under's own).
    below: list[tuple[Jurisdiction, Counts]] = field(default_factory=list)


def check_level(under: Jurisdiction, level: Level) -> None:
    if level.depth < under.level.depth:
        raise BadUserInput(
            f"level: {under.code} is a {under.level.value}; no {level.value} lies in its subtree"
        )


def _units(under: Jurisdiction, level: Level, month_index: int, first: Any) -> list[Any]:
    return [
        Jurisdiction.level == level,
        within(Jurisdiction.path, under.path),
        existed(month_index, first),
    ]


async def reporting_status(
    session: RequestSession,
    index: CatalogueIndex,
    *,
    under: Jurisdiction,
    level: Level,
    months: Sequence[int],
) -> Status:
    check_level(under, level)
    status = Status(under, level, [m for m in months if level in reporting_levels(index, m)])
    first = await tree_start(session)
    child = under.level.child if level is not under.level else None
    group: ColumnElement[str] = (
        func.substr(Jurisdiction.path, 1, child.path_length)
        if child is not None
        else sql_cast(Jurisdiction.path, Jurisdiction.path.type)
    )
    by_group: dict[str, Counts] = {}
    for month_index in status.months:
        where = _units(under, level, month_index, first)
        expected = select(group, func.count()).where(*where).group_by(group)
        for key, count in await session.rows(unscoped(expected, why=_CHECKED)):
            by_group.setdefault(key, Counts()).expected += int(count)
        on_time = case((Report.first_submitted_at < Report.deadline_at, 1), else_=0)
        returned = case((Report.state == ReportState.RETURNED, 1), else_=0)
        reports = (
            select(group, func.count(), func.sum(on_time), func.sum(returned))
            .join(Report, Report.unit_id == Jurisdiction.id)
            .where(Report.month_index == month_index, *where)
            .group_by(group)
        )
        for key, count, timely, sent_back in await session.rows(unscoped(reports, why=_CHECKED)):
            counts = by_group.setdefault(key, Counts())
            counts.submitted += int(count)
            counts.on_time += int(timely or 0)
            counts.returned += int(sent_back or 0)
    for counts in by_group.values():
        status.total.add(counts)
    if child is not None and by_group:
        statement = select(Jurisdiction).where(Jurisdiction.path.in_(sorted(by_group)))
        heads = await session.scalars(unscoped(statement, why=_CHECKED))
        status.below = [(head, by_group[head.path]) for head in sorted(heads, key=_path)]
    return status


def _path(unit: Jurisdiction) -> str:
    return unit.path


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    month_index: int
    unit: Jurisdiction
    report: Report | None


def _follow_up_statement(
    kind: FollowUp, under: Jurisdiction, level: Level, month_index: int, first: Any
) -> Select[*tuple[Any, ...]]:
    where = _units(under, level, month_index, first)
    if kind is FollowUp.MISSING:
        reported = exists().where(
            Report.unit_id == Jurisdiction.id, Report.month_index == month_index
        )
        return select(Jurisdiction, sql_cast(None, Integer)).where(*where, ~reported)
    which = (
        Report.first_submitted_at >= Report.deadline_at
        if kind is FollowUp.LATE
        else Report.state == ReportState.RETURNED
    )
    return (
        select(Jurisdiction, Report.id)
        .join(Report, and_(Report.unit_id == Jurisdiction.id, Report.month_index == month_index))
        .where(*where, which)
    )


async def follow_up(
    session: RequestSession,
    index: CatalogueIndex,
    *,
    kind: FollowUp,
    under: Jurisdiction,
    level: Level,
    months: Sequence[int],
    after: tuple[int, str] | None,
    limit: int,
) -> list[FollowUpRow]:
    """Units to follow up (missing, late or returned reports), by month then code, after
    the cursor's (month, path), at most limit."""
    check_level(under, level)
    first = await tree_start(session)
    rows: list[FollowUpRow] = []
    for month_index in sorted(m for m in months if level in reporting_levels(index, m)):
        if after is not None and month_index < after[0]:
            continue
        statement = _follow_up_statement(kind, under, level, month_index, first)
        if after is not None and month_index == after[0]:
            statement = statement.where(Jurisdiction.path > after[1])
        statement = statement.order_by(Jurisdiction.path).limit(limit - len(rows))
        found = await session.rows(unscoped(statement, why=_CHECKED))
        report_ids = [report_id for _, report_id in found if report_id is not None]
        reports: dict[int, Report] = {}
        if report_ids:
            by_id = select(Report).where(Report.id.in_(report_ids))
            reports = {r.id: r for r in await session.scalars(unscoped(by_id, why=_CHECKED))}
        rows.extend(
            FollowUpRow(month_index, unit, reports.get(report_id) if report_id else None)
            for unit, report_id in found
        )
        if len(rows) >= limit:
            break
    return rows


async def follow_up_count(
    session: RequestSession,
    index: CatalogueIndex,
    *,
    kind: FollowUp,
    under: Jurisdiction,
    level: Level,
    months: Sequence[int],
) -> int:
    status = await reporting_status(session, index, under=under, level=level, months=months)
    return {
        FollowUp.MISSING: status.total.missing,
        FollowUp.LATE: status.total.late,
        FollowUp.RETURNED: status.total.returned,
    }[kind]
