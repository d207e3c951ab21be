"""Reading the monthly cycle: reports, approval states, completeness and timeliness, the
rules of a tree and the acts recorded. Scoped like aggregates (READ_AGGREGATES): states
and counts, never values; the history of acts needs READ_AUDIT."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from authz.roles import Action
from core.errors import Forbidden
from indicators.reporting import approvals, reports, status
from indicators.reporting.approvals import ApprovalView
from indicators.reporting.expected import existed, tree_start
from indicators.reporting.models import Report, WorkflowEvent
from indicators.reporting.reports import Difference
from indicators.reporting.rules import LevelRule, rule_book
from indicators.reporting.status import FollowUp, FollowUpRow, Status
from indicators.reporting.units import month_argument, months_argument, unit_argument
from resolvers.context import Context
from resolvers.pagination import (
    Page,
    decode_id_cursor,
    decode_month_path_cursor,
    id_cursor,
    make_page,
    month_path_cursor,
    page_size,
)
from resolvers.reporting.loaders import EventLoader
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import within
from tenancy.scope import unscoped

_CHECKED = "the unit was checked against the caller's scope"


async def _readable(context: Context, code: str) -> Jurisdiction:
    scope = context.scope(Action.READ_AGGREGATES)
    return await unit_argument(context.session, scope, code, what="read reporting for")


@dataclass(frozen=True, slots=True)
class StatusAsked:
    status: Status
    months: list[int]
    period: str


async def reporting_status(
    context: Context, *, under: str, period: str, level: Level
) -> StatusAsked:
    unit = await _readable(context, under)
    index = await context.catalogue()
    months = months_argument(index, period)
    found = await status.reporting_status(
        context.session, index, under=unit, level=level, months=months
    )
    return StatusAsked(found, months, period)


async def follow_up(
    context: Context, asked: StatusAsked, kind: FollowUp, *, first: int | None, after: str | None
) -> Page[FollowUpRow]:
    limit = page_size(first)
    cursor = decode_month_path_cursor(after)
    index = await context.catalogue()
    rows = await status.follow_up(
        context.session,
        index,
        kind=kind,
        under=asked.status.under,
        level=asked.status.level,
        months=asked.months,
        after=cursor,
        limit=limit + 1,
    )
    counts = asked.status.total
    total = {
        FollowUp.MISSING: counts.missing,
        FollowUp.LATE: counts.late,
        FollowUp.RETURNED: counts.returned,
    }[kind]

    async def count() -> int:
        return total

    return make_page(
        rows,
        limit=limit,
        cursor_of=lambda row: month_path_cursor(row.month_index, row.unit.path),
        after=cursor,
        total=count,
    )


async def approval_status(context: Context, *, unit: str, period: str) -> ApprovalView:
    found = await _readable(context, unit)
    index = await context.catalogue()
    month = month_argument(index, period)
    views = await approvals.approval_views(context.session, index, [found], month, under=found)
    return views[found.id]


async def approval_statuses(
    context: Context,
    *,
    under: str,
    period: str,
    level: Level,
    first: int | None,
    after: str | None,
) -> Page[ApprovalView]:
    """The approval state of every unit at the level under `under`, by code."""
    root = await _readable(context, under)
    status.check_level(root, level)
    index = await context.catalogue()
    month = month_argument(index, period)
    limit = page_size(first)
    cursor = decode_month_path_cursor(after)
    where = [
        Jurisdiction.level == level,
        within(Jurisdiction.path, root.path),
        existed(month, await tree_start(context.session)),
    ]
    statement = select(Jurisdiction).where(*where)
    if cursor is not None:
        statement = statement.where(Jurisdiction.path > cursor[1])
    statement = statement.order_by(Jurisdiction.path).limit(limit + 1)
    units = list(await context.session.scalars(unscoped(statement, why=_CHECKED)))
    views = await approvals.approval_views(context.session, index, units, month, under=root)

    async def count() -> int:
        counted = select(func.count()).select_from(Jurisdiction).where(*where)
        return int(await context.session.scalar(unscoped(counted, why=_CHECKED)) or 0)

    return make_page(
        [views[unit.id] for unit in units],
        limit=limit,
        cursor_of=lambda view: month_path_cursor(month, view.unit.path),
        after=cursor,
        total=count,
    )


@dataclass(frozen=True, slots=True)
class ReportView:
    unit: Jurisdiction
    report: Report


async def report(context: Context, *, unit: str, period: str) -> ReportView | None:
    found = await _readable(context, unit)
    index = await context.catalogue()
    month = month_argument(index, period)
    statement = select(Report).where(Report.unit_id == found.id, Report.month_index == month)
    stored = await context.session.scalar(unscoped(statement, why=_CHECKED))
    return None if stored is None else ReportView(found, stored)


def require_acts(context: Context, unit: Jurisdiction) -> None:
    """Who did what and why (actors, issuers, reasons) is the audit: FORBIDDEN unless the
    caller may read the audit at the unit that acted."""
    if not context.scope(Action.READ_AUDIT).contains(unit.path):
        raise Forbidden(f"{unit.code}: who acted and why is in its audit, outside your access")


async def differences(context: Context, view: ReportView) -> list[Difference]:
    """The values as approved and now: raw values, and their audit."""
    for action in (Action.READ_VALUES, Action.READ_AUDIT):
        if not context.scope(action).contains(view.unit.path):
            raise Forbidden(f"{view.unit.code}: its {action.obj} are outside your access")
    index = await context.catalogue()
    return await reports.changes_since_approval(
        context.session, index, view.unit, view.report.month_index
    )


async def event(context: Context, event_id: int) -> WorkflowEvent:
    return await context.loader(EventLoader, Action.READ_AGGREGATES).load(event_id)


async def reporting_rules(context: Context, *, unit: str) -> list[LevelRule]:
    """The rules that hold at the unit for its own level and each level below it."""
    scope = context.scope(Action.READ_TREE)
    found = await unit_argument(context.session, scope, unit, what="read the rules of")
    book = await rule_book(context.session, [found.path])
    return [book.rule(found.path, level) for level in Level if level.depth >= found.level.depth]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    event: WorkflowEvent
    unit: Jurisdiction


async def history(
    context: Context, *, unit: str, period: str | None, first: int | None, after: str | None
) -> Page[HistoryEntry]:
    """Every act of the monthly cycle on the unit and its subtree (of one month, when
    given), newest first: who, when, why."""
    scope = context.scope(Action.READ_AUDIT)
    found = await unit_argument(context.session, scope, unit, what="read the history of")
    limit, before = page_size(first), decode_id_cursor(after)
    where = [within(Jurisdiction.path, found.path)]
    if period is not None:
        where.append(WorkflowEvent.month_index == month_argument(await context.catalogue(), period))
    statement = (
        select(WorkflowEvent, Jurisdiction)
        .join(Jurisdiction, Jurisdiction.id == WorkflowEvent.unit_id)
        .where(*where)
    )
    if before is not None:
        statement = statement.where(WorkflowEvent.id < before)
    statement = statement.order_by(WorkflowEvent.id.desc()).limit(limit + 1)
    rows = [
        HistoryEntry(event, row_unit)
        for event, row_unit in await context.session.rows(unscoped(statement, why=_CHECKED))
    ]

    async def count() -> int:
        counted = (
            select(func.count())
            .select_from(WorkflowEvent)
            .join(Jurisdiction, Jurisdiction.id == WorkflowEvent.unit_id)
            .where(*where)
        )
        return int(await context.session.scalar(unscoped(counted, why=_CHECKED)) or 0)

    return make_page(
        rows, limit=limit, cursor_of=lambda e: id_cursor(e.event.id), after=before, total=count
    )
