"""Reading targets and their audit within a caller's scope: set-based, a statement a batch."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import func, select

from core.db.session import RequestSession
from indicators.targets.models import Bound, Target, TargetChange
from tenancy.models import Jurisdiction
from tenancy.paths import within
from tenancy.scope import Scope

UnitYear = tuple[int, int]  # (unit id, the year's first month)


class StoredTarget(NamedTuple):
    """A target as read: plain rows, since a ranking reads thousands of them."""

    id: int
    jurisdiction_id: int
    month_index: int
    indicator: str
    bound: Bound
    value: float
    weight: float
    veto: bool
    updated_at: dt.datetime


_TARGET_COLUMNS = (
    Target.id,
    Target.jurisdiction_id,
    Target.month_index,
    Target.indicator,
    Target.bound,
    Target.value,
    Target.weight,
    Target.veto,
    Target.updated_at,
)


async def targets_of(
    session: RequestSession, scope: Scope, keys: Sequence[UnitYear]
) -> dict[UnitYear, list[StoredTarget]]:
    """Each unit's targets for the year, by code."""
    found: dict[UnitYear, list[StoredTarget]] = defaultdict(list)
    if not keys:
        return found
    query = (
        select(*_TARGET_COLUMNS)
        .join(Jurisdiction, Jurisdiction.id == Target.jurisdiction_id)
        .where(
            Target.jurisdiction_id.in_(sorted({unit for unit, _ in keys})),
            Target.month_index.in_(sorted({month for _, month in keys})),
        )
        .order_by(Target.jurisdiction_id, Target.indicator)
    )
    for row in await session.rows(scope.within_scope(query, Jurisdiction.path)):
        target = StoredTarget(*row)
        found[target.jurisdiction_id, target.month_index].append(target)
    return found


async def targets_under(
    session: RequestSession, scope: Scope, *, root_path: str, month_index: int | None
) -> list[tuple[str, Target]]:
    """Every target of the units under the root (of one year, or of all), with each unit's
    code, in code order, then year and code."""
    query = (
        select(Jurisdiction.code, Target)
        .join(Jurisdiction, Jurisdiction.id == Target.jurisdiction_id)
        .where(within(Jurisdiction.path, root_path))
        .order_by(Jurisdiction.path, Target.month_index, Target.indicator)
    )
    if month_index is not None:
        query = query.where(Target.month_index == month_index)
    rows = await session.rows(scope.within_scope(query, Jurisdiction.path))
    return [(code, target) for code, target in rows]


async def changes_under(
    session: RequestSession,
    scope: Scope,
    *,
    root_path: str,
    after_id: int | None,
    limit: int,
) -> list[tuple[TargetChange, str]]:
    """Changes to the targets of units under the root, newest first, with each unit's code."""
    query = (
        select(TargetChange, Jurisdiction.code)
        .join(Jurisdiction, Jurisdiction.id == TargetChange.jurisdiction_id)
        .where(within(Jurisdiction.path, root_path))
        .order_by(TargetChange.id.desc())
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(TargetChange.id < after_id)
    rows = await session.rows(scope.within_scope(query, Jurisdiction.path))
    return [(change, code) for change, code in rows]


async def count_changes_under(session: RequestSession, scope: Scope, *, root_path: str) -> int:
    """How many changes `changes_under` lists across all pages."""
    query = (
        select(func.count())
        .select_from(TargetChange)
        .join(Jurisdiction, Jurisdiction.id == TargetChange.jurisdiction_id)
        .where(within(Jurisdiction.path, root_path))
    )
    return await session.scalar(scope.within_scope(query, Jurisdiction.path)) or 0
