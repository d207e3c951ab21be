"""Reading stored violations within a caller's scope: a page of a subtree's, or counts per
unit's subtree for a grid; one statement each, whatever the number of units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, func, select
from sqlalchemy.orm import aliased

from core.db.session import RequestSession
from indicators.catalogue_index import CatalogueIndex
from indicators.periods import Period
from indicators.validation.models import ValidationViolation
from indicators.validation.refresh import Violation, load_rules, period_of
from indicators.validation.rules import RuleInfo
from indicators.validation.steps import run_async
from tenancy.models import Jurisdiction
from tenancy.paths import within
from tenancy.scope import Scope

VV = cast(Table, ValidationViolation.__table__).c


async def stored_rules(session: RequestSession, index: CatalogueIndex) -> list[RuleInfo]:
    """Every rule, by code."""
    return await run_async(session, load_rules(index))


def _inside(period: Period) -> list[ColumnElement[bool]]:
    """Violations whose period lies wholly inside the asked one."""
    end = period.month_index + period.type.months
    return [VV.month_index >= period.month_index, VV.month_index + VV.span <= end]


def _listed(
    scope: Scope,
    columns: Sequence[Any],
    *,
    root_path: str,
    period: Period,
    rules: Sequence[RuleInfo],
    include_resolved: bool,
) -> Select[*tuple[Any, ...]]:
    clauses = [
        within(Jurisdiction.path, root_path),
        VV.rule_id.in_(sorted(rule.id for rule in rules)),
        *_inside(period),
    ]
    if not include_resolved:
        clauses.append(VV.resolved_at.is_(None))
    query = (
        select(*columns)
        .select_from(ValidationViolation)
        .join(Jurisdiction, Jurisdiction.id == VV.jurisdiction_id)
    )
    return scope.within_scope(query.where(*clauses), Jurisdiction.path)


async def violations(
    session: RequestSession,
    scope: Scope,
    *,
    root_path: str,
    period: Period,
    rules: Sequence[RuleInfo],
    include_resolved: bool,
    after_id: int | None,
    limit: int,
) -> list[tuple[Violation, Jurisdiction]]:
    """The subtree's violations of the rules in the period, oldest first, after the id,
    each with its unit."""
    columns = [
        *(VV.id, VV.rule_id, VV.span, VV.month_index, VV.left_value, VV.right_value),
        *(VV.found_at, VV.resolved_at, Jurisdiction),
    ]
    query = _listed(
        scope,
        columns,
        root_path=root_path,
        period=period,
        rules=rules,
        include_resolved=include_resolved,
    )
    if after_id is not None:
        query = query.where(VV.id > after_id)
    by_id = {rule.id: rule for rule in rules}
    found = []
    for row in await session.rows(query.order_by(VV.id).limit(limit)):
        violation_id, rule_id, span, start, left, right, found_at, resolved_at, unit = row
        violation = Violation(
            id=violation_id,
            rule=by_id[rule_id],
            unit_id=unit.id,
            unit_code=unit.code,
            unit_level=unit.level,
            period=period_of(span, start),
            left_value=left,
            right_value=right,
            found_at=found_at,
            resolved_at=resolved_at,
        )
        found.append((violation, unit))
    return found


async def violations_count(
    session: RequestSession,
    scope: Scope,
    *,
    root_path: str,
    period: Period,
    rules: Sequence[RuleInfo],
    include_resolved: bool,
) -> int:
    counted = _listed(
        scope,
        [func.count()],
        root_path=root_path,
        period=period,
        rules=rules,
        include_resolved=include_resolved,
    )
    return int(await session.scalar(counted) or 0)


async def open_counts(
    session: RequestSession,
    scope: Scope,
    *,
    units: Sequence[Jurisdiction],
    period: Period,
    rules: Sequence[RuleInfo],
) -> dict[int, int]:
    """Open violations of the rules in each unit's subtree (itself included) whose period
    lies inside the asked one, by unit id (units without any are left out)."""
    if not units or not rules:
        return {}
    row = aliased(Jurisdiction, name="row_unit")
    member = aliased(Jurisdiction, name="member")
    query = (
        select(row.id, func.count())
        .select_from(row)
        .join(member, within(member.path, row.path))
        .join(ValidationViolation, VV.jurisdiction_id == member.id)
        .where(
            row.id.in_(sorted(unit.id for unit in units)),
            VV.resolved_at.is_(None),
            VV.rule_id.in_(sorted(rule.id for rule in rules)),
            *_inside(period),
        )
        .group_by(row.id)
    )
    counted = await session.rows(scope.within_scope(query, member.path))
    return {unit_id: int(count) for unit_id, count in counted}
