"""Approving a month level by level, bottom up; returning, withdrawing and reopening.

What holds:
- a unit approves a month only when its level approves in its tree and everything below
  it is in: each unit below at an approving level approved it, each unit between them that
  reports submitted its report (units not expected that month are skipped, not waited for);
- approving locks the subtree's values for the month (`locks`); an approval is withdrawn
  (by its own level, or sent back by one above) only while no approval above it stands;
- every act is an event: who, when, why.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from core.db.session import RequestSession
from core.errors import BadUserInput, Conflict, Locked
from indicators.audit import Author
from indicators.catalogue_index import CatalogueIndex
from indicators.reporting import events
from indicators.reporting.events import record_event
from indicators.reporting.expected import (
    check_month_ended,
    existed,
    month_text,
    reporting_levels,
    tree_start,
    unit_existed,
)
from indicators.reporting.locks import as_locks, locks_of, one_cell
from indicators.reporting.models import (
    Approval,
    EventKind,
    Reopening,
    Report,
    ReportState,
    WorkflowEvent,
)
from indicators.reporting.reports import last_change_id
from indicators.reporting.rules import RuleBook, rule_book
from indicators.rollups.maintenance import lock_units
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import ancestor_paths, within
from tenancy.scope import unscoped

_CHECKED = "the unit was checked against the caller's scope; this reads its subtree and above"
MAX_REOPEN_HOURS = 168
SHOWN_WAITING = 20
# Approvals that can lock one unit's month: one per level above it, and its own.
MAX_LOCKS = 5
MAX_LISTED_IDS = 2000


class ApprovalState(StrEnum):
    # The unit's level does not approve in its tree, and nothing above approved.
    NOT_APPROVING = "not_approving"
    # Something below is not in yet: a report not submitted, an approval not given.
    WAITING = "waiting"
    READY = "ready"
    APPROVED_HERE = "approved_here"
    # A unit above approved the month (whether or not this one did).
    APPROVED_ABOVE = "approved_above"


@dataclass(frozen=True, slots=True)
class MonthAct:
    """An act on one unit's month: by whom and why (the caller checked the unit)."""

    unit: Jurisdiction
    month_index: int
    author: Author
    reason: str


@dataclass(frozen=True, slots=True)
class GivenApproval:
    approval: Approval
    unit: Jurisdiction
    event: WorkflowEvent


@dataclass(frozen=True, slots=True)
class Waiting:
    unit: Jurisdiction
    # "report" (not submitted, or returned) or "approval".
    needs: str


@dataclass(slots=True)
class ApprovalView:
    unit: Jurisdiction
    month_index: int
    state: ApprovalState = ApprovalState.NOT_APPROVING
    approves: bool = False
    here: GivenApproval | None = None
    above: GivenApproval | None = None
    waiting: list[Waiting] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Cycle:
    """What one month of a part of the tree holds: units, reports, approvals."""

    book: RuleBook
    due: frozenset[Level]
    nodes: list[Jurisdiction]
    reports: dict[int, ReportState]
    approvals: dict[str, GivenApproval]  # by the approving unit's path


async def _nodes(
    session: RequestSession,
    book: RuleBook,
    units: Sequence[Jurisdiction],
    under: Jurisdiction,
    month_index: int,
) -> list[Jurisdiction]:
    """The units below the asked ones down to the nearest approving level: those whose
    reports or approvals the asked units wait for."""
    first = await tree_start(session)
    open_paths = {unit.path for unit in units}
    lowest, highest = min(open_paths), max(open_paths) + "~"
    level = min(units, key=lambda unit: unit.level.depth).level
    found: list[Jurisdiction] = []
    while open_paths and (level := level.child) is not None:  # type: ignore[assignment]
        parent_length = level.parent.path_length if level.parent else 0
        statement = select(Jurisdiction).where(
            Jurisdiction.level == level,
            within(Jurisdiction.path, under.path),
            # The asked units' own stretch of the tree (they are a page in path order).
            Jurisdiction.path >= lowest,
            Jurisdiction.path < highest,
            existed(month_index, first),
        )
        below = await session.scalars(unscoped(statement, why=_CHECKED))
        following: set[str] = set()
        for unit in below:
            if unit.path[:parent_length] in open_paths:
                found.append(unit)
                if not book.approves(unit):
                    following.add(unit.path)
        open_paths = following
    return found


async def _cycle(
    session: RequestSession,
    index: CatalogueIndex,
    units: Sequence[Jurisdiction],
    under: Jurisdiction,
    month_index: int,
) -> _Cycle:
    book = await rule_book(session, [under.path])
    nodes = await _nodes(session, book, units, under, month_index)
    ids = sorted({unit.id for unit in units} | {node.id for node in nodes})
    # The units asked and those they wait for, by id while they are few (a county's
    # villages); a whole subtree's otherwise.
    mine = (
        Jurisdiction.id.in_(ids)
        if len(ids) <= MAX_LISTED_IDS
        else within(Jurisdiction.path, under.path)
    )
    reports_statement = (
        select(Report.unit_id, Report.state)
        .join(Jurisdiction, Jurisdiction.id == Report.unit_id)
        .where(Report.month_index == month_index, mine)
    )
    reports = {
        unit_id: state
        for unit_id, state in await session.rows(unscoped(reports_statement, why=_CHECKED))
    }
    above = sorted({path for unit in units for path in ancestor_paths(unit.path)})
    approvals_statement = (
        select(Approval, Jurisdiction, WorkflowEvent)
        .join(Jurisdiction, Jurisdiction.id == Approval.unit_id)
        .join(WorkflowEvent, WorkflowEvent.id == Approval.approved_event_id)
        .where(
            Approval.month_index == month_index,
            Approval.withdrawn_event_id.is_(None),
            or_(Jurisdiction.path.in_(above), mine),
        )
    )
    approvals = {
        unit.path: GivenApproval(approval, unit, event)
        for approval, unit, event in await session.rows(unscoped(approvals_statement, why=_CHECKED))
    }
    return _Cycle(book, reporting_levels(index, month_index), nodes, reports, approvals)


def _view(cycle: _Cycle, unit: Jurisdiction, month_index: int) -> ApprovalView:
    view = ApprovalView(unit, month_index, approves=cycle.book.approves(unit))
    view.here = cycle.approvals.get(unit.path)
    for path in reversed(ancestor_paths(unit.path)[:-1]):
        if path in cycle.approvals:
            view.above = cycle.approvals[path]
            break
    if view.above is not None:
        view.state = ApprovalState.APPROVED_ABOVE
        return view
    if view.here is not None:
        view.state = ApprovalState.APPROVED_HERE
        return view
    if not view.approves:
        return view
    if unit.level in cycle.due and cycle.reports.get(unit.id) is not ReportState.SUBMITTED:
        view.waiting.append(Waiting(unit, "report"))
    # Below the unit, down to the nearest approving units: everything must be in.
    passing = {unit.path}
    for node in cycle.nodes:
        parent_length = node.level.parent.path_length if node.level.parent else 0
        if node.path[:parent_length] not in passing:
            continue
        if cycle.book.approves(node):
            if node.path not in cycle.approvals:
                view.waiting.append(Waiting(node, "approval"))
            continue
        passing.add(node.path)
        if node.level in cycle.due and cycle.reports.get(node.id) is not ReportState.SUBMITTED:
            view.waiting.append(Waiting(node, "report"))
    view.state = ApprovalState.WAITING if view.waiting else ApprovalState.READY
    return view


async def approval_views(
    session: RequestSession,
    index: CatalogueIndex,
    units: Sequence[Jurisdiction],
    month_index: int,
    *,
    under: Jurisdiction,
) -> dict[int, ApprovalView]:
    """The approval state of each unit (all of one level, inside `under`'s subtree) for
    the month, read in a bounded number of statements whatever their count."""
    if not units:
        return {}
    by_level: dict[Level, list[Jurisdiction]] = {}
    for unit in units:
        by_level.setdefault(unit.level, []).append(unit)
    views: dict[int, ApprovalView] = {}
    for group in by_level.values():
        cycle = await _cycle(session, index, group, under, month_index)
        views.update({unit.id: _view(cycle, unit, month_index) for unit in group})
    return views


def _waiting_text(waiting: list[Waiting]) -> str:
    shown = ", ".join(f"{w.unit.code} ({w.needs})" for w in waiting[:SHOWN_WAITING])
    more = len(waiting) - SHOWN_WAITING
    return shown + (f" and {more} more" if more > 0 else "")


def _given_text(given: GivenApproval) -> str:
    at = given.event.at if given.event.at.tzinfo else given.event.at.replace(tzinfo=dt.UTC)
    return f"{given.unit.code} ({given.unit.name}) at {at.isoformat()}"


async def _lock_subtree(session: RequestSession, unit: Jurisdiction) -> None:
    """Wait for writers of any unit below, and hold them off until this commits."""
    units = select(Jurisdiction.id).where(within(Jurisdiction.path, unit.path))
    await session.execute(unscoped(lock_units(units), why=_CHECKED))


async def approve(session: RequestSession, index: CatalogueIndex, act: MonthAct) -> ApprovalView:
    """Approve the unit's month: CONFLICT naming what it waits for, if anything does."""
    unit, month_index, author, reason = act.unit, act.month_index, act.author, act.reason
    check_month_ended(month_index, events.utc_now())
    if not unit_existed(unit, month_index, await tree_start(session)):
        raise BadUserInput(f"unit: {unit.code} did not exist in {month_text(month_index)}")
    await _lock_subtree(session, unit)
    view = (await approval_views(session, index, [unit], month_index, under=unit))[unit.id]
    month = month_text(month_index)
    if view.state is ApprovalState.NOT_APPROVING:
        raise BadUserInput(f"unit: {unit.level.value} units do not approve in this tree")
    if view.state is ApprovalState.APPROVED_ABOVE:
        assert view.above is not None
        raise Locked(f"{unit.code} {month} is approved above: {_given_text(view.above)}")
    if view.state is ApprovalState.APPROVED_HERE:
        assert view.here is not None
        raise Conflict(f"{unit.code} {month} is approved already: {_given_text(view.here)}")
    reopened = (
        select(Jurisdiction.code)
        .join(Report, Report.unit_id == Jurisdiction.id)
        .where(
            Report.month_index == month_index,
            Report.state == ReportState.REOPENED,
            within(Jurisdiction.path, unit.path),
        )
        .order_by(Jurisdiction.path)
        .limit(SHOWN_WAITING)
    )
    corrected = list(await session.scalars(unscoped(reopened, why=_CHECKED)))
    if corrected:
        raise Conflict(
            f"{unit.code} {month} waits for reports reopened for correction to be submitted "
            f"again: {', '.join(corrected)}"
        )
    if view.state is ApprovalState.WAITING:
        raise Conflict(
            f"{unit.code} {month} waits for {len(view.waiting)} unit(s): "
            + _waiting_text(view.waiting)
        )
    event = await record_event(
        session,
        kind=EventKind.APPROVED,
        unit_id=unit.id,
        month_index=month_index,
        author=author,
        reason=reason,
    )
    mark = await last_change_id(session)
    try:
        await session.add(
            Approval(
                unit_id=unit.id,
                month_index=month_index,
                approved_event_id=event,
                audit_mark=mark,
                returned=False,
            )
        )
    except IntegrityError as error:
        raise Conflict(f"{unit.code} {month} was approved by someone else meanwhile") from error
    return (await approval_views(session, index, [unit], month_index, under=unit))[unit.id]


async def _withdraw(
    session: RequestSession,
    view: ApprovalView,
    *,
    kind: EventKind,
    author: Author,
    reason: str,
) -> None:
    assert view.here is not None
    event = await record_event(
        session,
        kind=kind,
        unit_id=view.unit.id,
        month_index=view.month_index,
        author=author,
        reason=reason,
    )
    change = (
        update(Approval)
        .where(Approval.id == view.here.approval.id, Approval.withdrawn_event_id.is_(None))
        .values(withdrawn_event_id=event, returned=kind is EventKind.RETURNED)
    )
    await session.execute(unscoped(change, why=_CHECKED))


def _refuse_above(view: ApprovalView, what: str) -> None:
    if view.above is not None:
        raise Locked(
            f"{view.unit.code} {month_text(view.month_index)} is approved above "
            f"({_given_text(view.above)}): that approval must be withdrawn before {what}"
        )


async def withdraw_approval(
    session: RequestSession, index: CatalogueIndex, act: MonthAct
) -> ApprovalView:
    """Withdraw the unit's approval of the month, while nothing above approved it."""
    unit, month_index, author, reason = act.unit, act.month_index, act.author, act.reason
    await _lock_subtree(session, unit)
    view = (await approval_views(session, index, [unit], month_index, under=unit))[unit.id]
    _refuse_above(view, "this one is withdrawn")
    if view.here is None:
        raise Conflict(f"{unit.code} {month_text(month_index)} is not approved")
    await _withdraw(session, view, kind=EventKind.WITHDRAWN, author=author, reason=reason)
    return (await approval_views(session, index, [unit], month_index, under=unit))[unit.id]


async def return_for_correction(
    session: RequestSession, index: CatalogueIndex, act: MonthAct
) -> ApprovalView:
    """Send the unit's month back (by a level above, the caller checked): its approval is
    withdrawn and its report returned, with the reason shown to the unit."""
    unit, month_index, author, reason = act.unit, act.month_index, act.author, act.reason
    await _lock_subtree(session, unit)
    view = (await approval_views(session, index, [unit], month_index, under=unit))[unit.id]
    _refuse_above(view, "it is returned")
    key = (Report.unit_id == unit.id, Report.month_index == month_index)
    report = await session.scalar(unscoped(select(Report.state).where(*key), why=_CHECKED))
    returnable = report is not None and report is not ReportState.RETURNED
    if view.here is None and not returnable:
        raise Conflict(
            f"{unit.code} {month_text(month_index)} has no submitted report or approval to return"
        )
    if view.here is not None:
        await _withdraw(session, view, kind=EventKind.RETURNED, author=author, reason=reason)
    if returnable:
        event = await record_event(
            session,
            kind=EventKind.RETURNED,
            unit_id=unit.id,
            month_index=month_index,
            author=author,
            reason=reason,
        )
        change = (
            update(Report).where(*key).values(state=ReportState.RETURNED, returned_event_id=event)
        )
        await session.execute(unscoped(change, why=_CHECKED))
    return (await approval_views(session, index, [unit], month_index, under=unit))[unit.id]


async def reopen(
    session: RequestSession, act: MonthAct, *, hours: int, may_reopen: Callable[[str], bool]
) -> Reopening:
    """Open the locked values of the unit's subtree for the month until `hours` from now
    (by a level above, the caller checked). The approvals stand; the subtree's reports are
    to be submitted again, showing what changed since they were approved."""
    unit, month_index, author, reason = act.unit, act.month_index, act.author, act.reason
    if not 1 <= hours <= MAX_REOPEN_HOURS:
        raise BadUserInput(f"hours: 1 to {MAX_REOPEN_HOURS}, not {hours}")
    await _lock_subtree(session, unit)
    now = events.utc_now()
    statement = locks_of(one_cell(unit.id, month_index), now=now, limit=MAX_LOCKS)
    locks = as_locks(await session.rows(statement))
    if not locks:
        raise Conflict(f"{unit.code} {month_text(month_index)} is not locked: nothing to reopen")
    # Like a withdrawal, a reopening is for levels at or above every approval it undoes.
    for lock in locks:
        if not may_reopen(lock.approved_by_path):
            raise Locked(lock.message)
    until = now + dt.timedelta(hours=hours)
    event = await record_event(
        session,
        kind=EventKind.REOPENED,
        unit_id=unit.id,
        month_index=month_index,
        author=author,
        reason=reason,
        detail=json.dumps({"until": until.isoformat()}),
        at=now,
    )
    reopening = Reopening(
        unit_id=unit.id, month_index=month_index, opened_at=now, until=until, event_id=event
    )
    await session.add(reopening)
    below = select(Jurisdiction.id).where(within(Jurisdiction.path, unit.path))
    reopened = (
        update(Report)
        .where(Report.month_index == month_index, Report.unit_id.in_(below))
        .values(state=ReportState.REOPENED)
    )
    await session.execute(unscoped(reopened, why=_CHECKED))
    return reopening
