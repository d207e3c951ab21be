"""Submitting a unit's report for a month: an explicit act after which its values are in
review. The server's clock stamps it; the first submission's time is never written again."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update

from core.db.session import RequestSession
from core.errors import BadUserInput, Locked
from indicators.audit import Author
from indicators.catalogue_index import CatalogueIndex
from indicators.models import ValueChange
from indicators.reporting import events
from indicators.reporting.events import record_event
from indicators.reporting.expected import (
    check_month_ended,
    elements_due,
    month_text,
    report_month,
    reporting_levels,
    tree_start,
    unit_existed,
)
from indicators.reporting.locks import as_locks, locks_of, one_cell
from indicators.reporting.models import Approval, EventKind, Report, ReportState
from indicators.reporting.rules import deadline, rule_book
from indicators.rollups.maintenance import lock_units
from indicators.validation.refresh import Violation, refresh_violations
from indicators.validation.rules import Importance
from tenancy.models import Jurisdiction
from tenancy.paths import ancestor_paths
from tenancy.scope import unscoped

_CHECKED = "the unit was checked against the caller's scope"


@dataclass(frozen=True, slots=True)
class Submitted:
    unit: Jurisdiction
    report: Report
    resubmitted: bool
    # The unit's rules that fail for the month's periods (none of them HIGH: those refuse).
    violations: list[Violation]


async def last_change_id(session: RequestSession) -> int:
    """The newest value change: the values as they are now are those up to it."""
    newest = select(func.coalesce(func.max(ValueChange.id), 0))
    return int(await session.scalar(unscoped(newest, why="a high-water mark, no unit's data")) or 0)


async def check_unlocked(
    session: RequestSession, unit: Jurisdiction, month_index: int, now: dt.datetime
) -> None:
    """LOCKED, naming who approved and when, if approvals lock the unit's month."""
    locks = as_locks(await session.rows(locks_of(one_cell(unit.id, month_index), now=now, limit=1)))
    if locks:
        raise Locked(locks[0].message)


async def check_expected(
    session: RequestSession, index: CatalogueIndex, unit: Jurisdiction, month_index: int
) -> None:
    """BAD_USER_INPUT unless the unit is expected to report for the month."""
    month = month_text(month_index)
    check_month_ended(month_index, events.utc_now())
    if not unit_existed(unit, month_index, await tree_start(session)):
        raise BadUserInput(f"unit: {unit.code} did not exist in {month}")
    if unit.level not in reporting_levels(index, month_index):
        raise BadUserInput(f"unit: {unit.level.value} units have nothing due in {month}'s report")


async def submit_report(
    session: RequestSession,
    *,
    index: CatalogueIndex,
    unit: Jurisdiction,
    month_index: int,
    author: Author,
    comment: str,
) -> Submitted:
    """Record the unit's report for the month as submitted now (again, after a return or a
    reopening: its first submission's time stays). The caller checked the unit's scope."""
    await check_expected(session, index, unit, month_index)
    # Writers of the unit's values and approvals above it take turns with this.
    await session.execute(unscoped(lock_units([unit.id]), why=_CHECKED))
    now = events.utc_now()
    await check_unlocked(session, unit, month_index, now)
    found = await refresh_violations(session, index, [(unit.id, month_index)])
    violations = [v for v in found if v.unit_id == unit.id]
    refuse_blocking(unit, violations)
    event = await record_event(
        session,
        kind=EventKind.SUBMITTED,
        unit_id=unit.id,
        month_index=month_index,
        author=author,
        reason=comment.strip(),
        detail=json.dumps({"elements": len(elements_due(index, unit.level, month_index))}),
        at=now,
    )
    mark = await last_change_id(session)
    key = (Report.unit_id == unit.id, Report.month_index == month_index)
    stored = await session.scalar(unscoped(select(Report).where(*key), why=_CHECKED))
    if stored is None:
        book = await rule_book(session, [unit.path])
        due = deadline(month_index, book.rule(unit.path, unit.level).deadline_day)
        values = dict(
            unit_id=unit.id,
            month_index=month_index,
            state=ReportState.SUBMITTED,
            first_submitted_at=now,
            deadline_at=due,
            submitted_event_id=event,
            audit_mark=mark,
        )
        await session.execute(insert(Report).values(**values))
    else:
        change = (
            update(Report)
            .where(*key)
            .values(state=ReportState.SUBMITTED, submitted_event_id=event, audit_mark=mark)
        )
        await session.execute(unscoped(change, why=_CHECKED))
    report = await session.scalar(
        unscoped(select(Report).where(*key), why=_CHECKED).execution_options(populate_existing=True)
    )
    assert report is not None
    return Submitted(unit, report, resubmitted=stored is not None, violations=violations)


def refuse_blocking(unit: Jurisdiction, violations: list[Violation]) -> None:
    """BAD_USER_INPUT naming each HIGH rule the unit's values fail: a report with those is
    not submitted until the values are fixed."""
    high = [v for v in violations if v.rule.importance is Importance.HIGH]
    if not high:
        return
    failing = "; ".join(
        f"{v.rule.code} for {v.period} ({_side(v.left_value)} against {_side(v.right_value)})"
        for v in high
    )
    raise BadUserInput(f"unit: {unit.code}'s values fail rules of HIGH importance: {failing}")


def _side(value: float | None) -> str:
    return "nothing" if value is None else f"{value:g}"


@dataclass(frozen=True, slots=True)
class Difference:
    """A cell of the report whose value changed since the month was last approved."""

    combo_id: int
    month_index: int
    approved: float | None
    now: float | None


async def changes_since_approval(
    session: RequestSession, index: CatalogueIndex, unit: Jurisdiction, month_index: int
) -> list[Difference]:
    """What the unit changed in the month's report since it was last approved (at the unit
    or above; the approval may since have been withdrawn or reopened): the values as
    approved against those now. Empty when the month was never approved."""
    marks = (
        select(func.max(Approval.audit_mark))
        .join(Jurisdiction, Jurisdiction.id == Approval.unit_id)
        .where(
            Approval.month_index == month_index, Jurisdiction.path.in_(ancestor_paths(unit.path))
        )
    )
    mark = await session.scalar(unscoped(marks, why=_CHECKED))
    if mark is None:
        return []
    earliest = month_index - max(e.period_type.months for e in index.elements.values()) + 1
    statement = (
        select(
            ValueChange.combo_id,
            ValueChange.month_index,
            ValueChange.old_value,
            ValueChange.new_value,
        )
        .where(
            ValueChange.jurisdiction_id == unit.id,
            ValueChange.id > mark,
            ValueChange.month_index.between(earliest, month_index),
        )
        .order_by(ValueChange.id)
    )
    folded: dict[tuple[int, int], list[float | None]] = {}
    for combo_id, start, old, new in await session.rows(unscoped(statement, why=_CHECKED)):
        element = index.by_combo.get(combo_id)
        if element is None or report_month(element[0], start) != month_index:
            continue
        folded.setdefault((combo_id, start), [old, new])[1] = new
    return [
        Difference(combo_id, start, old, new)
        for (combo_id, start), (old, new) in sorted(folded.items())
        if old != new
    ]
