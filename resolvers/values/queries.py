"""Reading a unit's own stored values and their history."""

from __future__ import annotations

from dataclasses import dataclass

from authz.roles import Action
from core.errors import BadUserInput
from indicators import stored_values
from indicators.catalogue_index import CatalogueIndex
from indicators.models import ChangeSet, DataValue, ValueChange
from indicators.periods import Period
from resolvers.context import Context
from resolvers.pagination import Page, decode_id_cursor, id_cursor, make_page, page_size
from resolvers.periods import period_argument
from resolvers.values.loaders import ValuesByUnitLoader
from tenancy.models import Jurisdiction


@dataclass(frozen=True, slots=True)
class CellView:
    """A stored value or a change, with the element, breakdown and period it is for."""

    element: str
    disaggregation: str
    period: str


def cell(index: CatalogueIndex, combo_id: int, month_index: int) -> CellView:
    element, key = index.by_combo[combo_id]
    first = Period(month_index // 12, month_index % 12 + 1, element.period_type)
    return CellView(element.code, key, str(first))


async def values(
    context: Context, unit: Jurisdiction, *, period: str, elements: list[str] | None
) -> list[tuple[CellView, DataValue]]:
    """The unit's own stored values whose period lies in the asked one."""
    context.require(Action.READ_VALUES, unit)
    index = await context.catalogue()
    asked = period_argument(index, period)
    element_ids = None
    if elements is not None:
        try:
            element_ids = tuple(sorted(index.element(code).id for code in elements))
        except ValueError as error:
            raise BadUserInput(f"elements: {error}") from error
    loader = context.loader(ValuesByUnitLoader, Action.READ_VALUES)
    stored = await loader.load((unit.id, asked, element_ids))
    return [(cell(index, value.combo_id, value.month_index), value) for value in stored]


async def audit_trail(
    context: Context,
    unit: Jurisdiction,
    *,
    first: int | None,
    after: str | None,
    period: str | None = None,
) -> Page[tuple[CellView, ValueChange, ChangeSet]]:
    """Every change to the unit's values (those whose period starts inside the asked one,
    when one is), newest first."""
    context.require(Action.READ_AUDIT, unit)
    scope = context.scope(Action.READ_AUDIT)
    limit = page_size(first)
    before = decode_id_cursor(after)
    index = await context.catalogue()
    asked = period_argument(index, period) if period is not None else None
    changes = await stored_values.changes_of(
        context.session, scope, unit.id, before_id=before, limit=limit + 1, period=asked
    )
    rows = [(cell(index, c.combo_id, c.month_index), c, s) for c, s in changes]

    async def total() -> int:
        return await stored_values.changes_count(context.session, scope, unit.id, period=asked)

    return make_page(
        rows, limit=limit, cursor_of=lambda row: id_cursor(row[1].id), after=before, total=total
    )
