"""Reading stored values and their history, within a caller's scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select

from core.db.session import RequestSession
from indicators.models import ChangeSet, DataValue, OptionCombo, ValueChange
from indicators.periods import Period
from tenancy.models import Jurisdiction
from tenancy.scope import Scope


async def values_of(
    session: RequestSession,
    scope: Scope,
    unit_ids: Sequence[int],
    *,
    period: Period,
    element_ids: Sequence[int] | None,
) -> dict[int, list[DataValue]]:
    """Each unit's stored values whose period starts inside the asked one, by unit."""
    clauses: list[ColumnElement[bool]] = [
        DataValue.jurisdiction_id.in_(unit_ids),
        DataValue.month_index >= period.month_index,
        DataValue.month_index < period.month_index + period.type.months,
    ]
    query = select(DataValue).join(Jurisdiction, Jurisdiction.id == DataValue.jurisdiction_id)
    if element_ids is not None:
        query = query.join(OptionCombo, OptionCombo.id == DataValue.combo_id)
        clauses.append(OptionCombo.element_id.in_(element_ids))
    query = scope.within_scope(query.where(*clauses), Jurisdiction.path)
    found: dict[int, list[DataValue]] = defaultdict(list)
    for value in await session.scalars(query.order_by(DataValue.combo_id, DataValue.month_index)):
        found[value.jurisdiction_id].append(value)
    return found


def _changes_in(period: Period | None) -> list[ColumnElement[bool]]:
    """Changes to values whose period starts inside the asked one (all without one)."""
    if period is None:
        return []
    return [
        ValueChange.month_index >= period.month_index,
        ValueChange.month_index < period.month_index + period.type.months,
    ]


async def changes_of(
    session: RequestSession,
    scope: Scope,
    unit_id: int,
    *,
    before_id: int | None,
    limit: int,
    period: Period | None = None,
) -> Sequence[tuple[ValueChange, ChangeSet]]:
    """A unit's value changes, newest first, each with its change set."""
    query = (
        select(ValueChange, ChangeSet)
        .join(ChangeSet, ChangeSet.id == ValueChange.change_set_id)
        .join(Jurisdiction, Jurisdiction.id == ValueChange.jurisdiction_id)
        .where(ValueChange.jurisdiction_id == unit_id, *_changes_in(period))
    )
    if before_id is not None:
        query = query.where(ValueChange.id < before_id)
    query = scope.within_scope(query, Jurisdiction.path)
    rows = await session.rows(query.order_by(ValueChange.id.desc()).limit(limit))
    return [(change, change_set) for change, change_set in rows]


async def changes_count(
    session: RequestSession, scope: Scope, unit_id: int, *, period: Period | None = None
) -> int:
    query = (
        select(func.count())
        .select_from(ValueChange)
        .join(Jurisdiction, Jurisdiction.id == ValueChange.jurisdiction_id)
        .where(ValueChange.jurisdiction_id == unit_id, *_changes_in(period))
    )
    return await session.scalar(scope.within_scope(query, Jurisdiction.path)) or 0
