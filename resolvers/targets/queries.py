"""A unit's targets and assessment for a year, and the audit of targets under a unit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from authz.roles import Action
from core.errors import Forbidden, NotFound, shown
from indicators.assessment import Assessment
from indicators.targets import reading
from indicators.targets.models import TargetChange
from indicators.targets.store import year_at
from resolvers.context import Context
from resolvers.jurisdictions.queries import visible_unit
from resolvers.pagination import Page, decode_id_cursor, id_cursor, make_page, page_size
from resolvers.targets.loaders import AssessmentByUnitLoader, TargetsByUnitLoader, bound_loader
from tenancy.models import Jurisdiction


async def targets(context: Context, unit: Jurisdiction, *, year: str) -> list[reading.StoredTarget]:
    """The unit's targets for the year, by code."""
    context.require(Action.READ_TARGETS, unit)
    loader = bound_loader(context, TargetsByUnitLoader, Action.READ_TARGETS)
    return cast(list[reading.StoredTarget], await loader.load((unit, year)))


async def assessment(context: Context, unit: Jurisdiction, *, year: str) -> Assessment | None:
    """The unit's assessment for the year; None when it has no targets for it."""
    context.require(Action.READ_ASSESSMENTS, unit)
    loader = bound_loader(context, AssessmentByUnitLoader, Action.READ_ASSESSMENTS)
    return cast(Assessment | None, await loader.load((unit, year)))


@dataclass(frozen=True, slots=True)
class ChangeView:
    change: TargetChange
    code: str
    year: str


async def target_changes(
    context: Context, *, under: str, first: int | None, after: str | None
) -> Page[ChangeView]:
    """Changes to the targets of units under the root, newest first; FORBIDDEN unless the
    caller may read the audit, or the targets, there."""
    root = await visible_unit(context, under, argument="under")
    if root is None:
        raise NotFound(f"under: no jurisdiction has code {shown(under)}")
    scope = next(
        (
            found
            for found in map(context.scope, (Action.READ_AUDIT, Action.READ_TARGETS))
            if found.contains(root.path)
        ),
        None,
    )
    if scope is None:
        raise Forbidden(f"{root.code}: its targets' audit is outside your access")
    limit = page_size(first)
    after_id = decode_id_cursor(after)
    rows = await reading.changes_under(
        context.session, scope, root_path=root.path, after_id=after_id, limit=limit + 1
    )

    async def total() -> int:
        return await reading.count_changes_under(context.session, scope, root_path=root.path)

    views = [ChangeView(change, code, str(year_at(change.month_index))) for change, code in rows]
    return make_page(
        views,
        limit=limit,
        cursor_of=lambda view: id_cursor(view.change.id),
        after=after_id,
        total=total,
    )
