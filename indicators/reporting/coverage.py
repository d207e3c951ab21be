"""Whether units' figures for some months are approved data: every month is approved at
the unit or above, and nothing in or above its subtree is reopened for correction now.

What holds: such figures cannot change until an approval is withdrawn or a level above
reopens them (`locks`), so "approved data only" reads them as they were approved. Two
statements for any number of units: the approvals above them, the reopenings open now.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from core.db.session import RequestSession
from indicators.reporting import events
from indicators.reporting.models import Approval, Reopening
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
        select(Jurisdiction.path, Approval.month_index)
        .join(Jurisdiction, Jurisdiction.id == Approval.unit_id)
        .where(
            Approval.month_index.in_(wanted),
            Approval.withdrawn_event_id.is_(None),
            Jurisdiction.path.in_(above),
        )
    )
    approved_at: dict[str, set[int]] = defaultdict(set)
    for path, month in await session.rows(unscoped(approved, why=_CHECKED)):
        approved_at[path].add(month)
    now: dt.datetime = events.utc_now()
    # Reopenings open now are few (each lasts hours): all of the months', matched below.
    reopened = (
        select(Jurisdiction.path, Reopening.month_index)
        .join(Jurisdiction, Jurisdiction.id == Reopening.unit_id)
        .where(Reopening.month_index.in_(wanted), Reopening.until > now)
    )
    open_at = list(await session.rows(unscoped(reopened, why=_CHECKED)))
    found: dict[int, list[int]] = {}
    for unit in units:
        covered = {m for path in ancestor_paths(unit.path) for m in approved_at.get(path, ())}
        covered -= {
            month
            for path, month in open_at
            if unit.path.startswith(path) or path.startswith(unit.path)
        }
        found[unit.id] = [m for m in wanted if m not in covered]
    return found


async def unapproved_months(
    session: RequestSession, unit: Jurisdiction, months: Sequence[int]
) -> list[int]:
    """The months (of those asked) whose figures of the unit are not approved data."""
    return (await unapproved(session, [unit], months))[unit.id]
