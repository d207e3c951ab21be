"""Whether a unit's figures for some months are approved data: every month is approved at
the unit or above, and nothing in or above its subtree is reopened for correction now.

What holds: such figures cannot change until an approval is withdrawn or a level above
reopens them (`locks`), so "approved data only" reads them as they were approved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select

from core.db.session import RequestSession
from indicators.reporting import events
from indicators.reporting.models import Approval, Reopening
from tenancy.models import Jurisdiction
from tenancy.paths import ancestor_paths, within
from tenancy.scope import unscoped

_CHECKED = "the unit was checked against the caller's scope; approvals above it are its own"


async def unapproved_months(
    session: RequestSession, unit: Jurisdiction, months: Sequence[int]
) -> list[int]:
    """The months (of those asked) whose figures of the unit are not approved data."""
    if not months:
        return []
    above = ancestor_paths(unit.path)
    approved = (
        select(Approval.month_index)
        .join(Jurisdiction, Jurisdiction.id == Approval.unit_id)
        .where(
            Approval.month_index.in_(sorted(set(months))),
            Approval.withdrawn_event_id.is_(None),
            Jurisdiction.path.in_(above),
        )
    )
    covered = set(await session.scalars(unscoped(approved, why=_CHECKED)))
    now: dt.datetime = events.utc_now()
    reopened = (
        select(Reopening.month_index)
        .join(Jurisdiction, Jurisdiction.id == Reopening.unit_id)
        .where(
            Reopening.month_index.in_(sorted(covered)),
            Reopening.until > now,
            or_(Jurisdiction.path.in_(above), within(Jurisdiction.path, unit.path)),
        )
    )
    covered -= set(await session.scalars(unscoped(reopened, why=_CHECKED)))
    return sorted(set(months) - covered)
