"""Whether units' figures for some months are approved data: every month is approved at
the unit or above by an approval that no reopening in or above the unit's subtree followed.

What holds: such figures are locked (`locks`) and were approved as they are, so "approved
data only" reads them as they were approved. Values changed in a reopening are not
approved data, even once the reopening has ended, until a level approves them again.
Two statements for any number of units: the approvals above them, the months' reopenings.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from core.db.session import RequestSession
from indicators.reporting.models import Approval, Reopening, WorkflowEvent
from tenancy.models import Jurisdiction
from tenancy.paths import ancestor_paths
from tenancy.scope import unscoped

_CHECKED = "the units were checked against the caller's scope; approvals above are theirs"


async def unapproved(
    session: RequestSession, units: Sequence[Jurisdiction], months: Sequence[int]
) -> dict[int, list[int]]:
    """For each unit (by id), the months of those asked whose figures are not approved data."""
    wanted = sorted(set(months))
    if not units or not wanted:
        return {unit.id: [] for unit in units}
    above = sorted({path for unit in units for path in ancestor_paths(unit.path)})
    approved = (
        select(Jurisdiction.path, Approval.month_index, WorkflowEvent.at)
        .join(Jurisdiction, Jurisdiction.id == Approval.unit_id)
        .join(WorkflowEvent, WorkflowEvent.id == Approval.approved_event_id)
        .where(
            Approval.month_index.in_(wanted),
            Approval.withdrawn_event_id.is_(None),
            Jurisdiction.path.in_(above),
        )
    )
    approved_at: dict[str, list[tuple[int, dt.datetime]]] = defaultdict(list)
    for path, month, at in await session.rows(unscoped(approved, why=_CHECKED)):
        approved_at[path].append((month, _utc(at)))
    # Reopenings are few (a level above opens one unit's month for hours): all of the months'.
    reopened = (
        select(Jurisdiction.path, Reopening.month_index, Reopening.opened_at)
        .join(Jurisdiction, Jurisdiction.id == Reopening.unit_id)
        .where(Reopening.month_index.in_(wanted))
    )
    openings = [
        (path, month, _utc(at))
        for path, month, at in await session.rows(unscoped(reopened, why=_CHECKED))
    ]
    found: dict[int, list[int]] = {}
    for unit in units:
        near = [
            (month, at)
            for path, month, at in openings
            if unit.path.startswith(path) or path.startswith(unit.path)
        ]
        covered = {
            month
            for path in ancestor_paths(unit.path)
            for month, at in approved_at.get(path, ())
            if not any(m == month and opened >= at for m, opened in near)
        }
        found[unit.id] = [m for m in wanted if m not in covered]
    return found


async def unapproved_months(
    session: RequestSession, unit: Jurisdiction, months: Sequence[int]
) -> list[int]:
    """The months (of those asked) whose figures of the unit are not approved data."""
    return (await unapproved(session, [unit], months))[unit.id]


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
