"""Reading the store for many units and periods at once: a few statements, whatever the count.

The callers pass units they have already checked against the caller's scope: a unit's
aggregate covers its whole subtree, which lies inside any scope that holds the unit.
Units of the deepest level are not in the store: their figures come from their own stored
values, at most a year of them per combo.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, literal, select

from core.db.session import RequestSession
from indicators.models import DataElement, DataValue, OptionCombo
from indicators.rollups.contributions import contributions, element_span
from indicators.rollups.evaluation import Figures, UnitBucket
from indicators.rollups.models import LEAF, Rollup, RollupReport
from tenancy.levels import Level
from tenancy.models import SubtreeSize
from tenancy.scope import unscoped

_CHECKED = "the units were checked against the caller's scope; their subtrees lie inside it"
V = cast(Table, DataValue.__table__).c
C = cast(Table, OptionCombo.__table__).c


Wanted = dict[int, tuple[set[int], set[int]]]  # span → (unit ids, bucket starts)


async def read_figures(
    session: RequestSession, buckets: Sequence[UnitBucket]
) -> dict[UnitBucket, Figures]:
    """The store's totals, report counts and expected counts for each (unit, period)."""
    found = {bucket: Figures() for bucket in buckets}
    keys = {(b.unit_id, b.span, b.month_index): b for b in buckets}
    stored: Wanted = defaultdict(lambda: (set(), set()))
    leaves: Wanted = defaultdict(lambda: (set(), set()))
    for bucket in buckets:
        units, months = (leaves if bucket.level == LEAF else stored)[bucket.span]
        units.add(bucket.unit_id)
        months.add(bucket.month_index)
    await _read_store(session, stored, keys, found)
    await _read_leaves(session, leaves, keys, found)
    await _read_sizes(session, [b for b in buckets if b.level != LEAF], found)
    return found


Keys = dict[tuple[int, int, int], UnitBucket]  # (unit id, span, start) → asked bucket


async def _read_store(
    session: RequestSession, wanted: Wanted, keys: Keys, found: dict[UnitBucket, Figures]
) -> None:
    # One statement per table and span (a request asks for one span or a few): plain IN
    # lists keep both databases on the primary key, where row-value lists did not on SQLite.
    for span, (units, months) in sorted(wanted.items()):
        for store, key, amount in (
            (Rollup, Rollup.combo_id, Rollup.total),
            (RollupReport, RollupReport.element_id, RollupReport.units),
        ):
            statement = select(store.unit_id, store.month_index, key, amount).where(
                store.unit_id.in_(sorted(units)),
                store.span == span,
                store.month_index.in_(sorted(months)),
            )
            is_total = store is Rollup
            for figures, (cell, value) in await _asked(session, statement, span, keys, found):
                (figures.totals if is_total else figures.reports)[cell] = value


async def _read_leaves(
    session: RequestSession, wanted: Wanted, keys: Keys, found: dict[UnitBucket, Figures]
) -> None:
    for span, (units, months) in sorted(wanted.items()):
        statement = _own_figures(span, units, months)
        for figures, (combo_id, element_id, value) in await _asked(
            session, statement, span, keys, found
        ):
            figures.totals[combo_id] = value
            figures.reports[element_id] = 1


async def _asked(
    session: RequestSession,
    statement: Select[*tuple[Any, ...]],
    span: int,
    keys: Keys,
    found: dict[UnitBucket, Figures],
) -> list[tuple[Figures, tuple[Any, ...]]]:
    """Rows (unit id, start, ...) of the asked buckets, each with its bucket's figures."""
    out = []
    for unit_id, month_index, *rest in await session.rows(unscoped(statement, why=_CHECKED)):
        asked = keys.get((unit_id, span, month_index))
        if asked is not None:
            out.append((found[asked], tuple(rest)))
    return out


async def _read_sizes(
    session: RequestSession, buckets: list[UnitBucket], found: dict[UnitBucket, Figures]
) -> None:
    """Units below each bucket's unit, by level, that were not retired before it began."""
    if not buckets:
        return
    by_unit: dict[int, list[UnitBucket]] = defaultdict(list)
    for bucket in buckets:
        by_unit[bucket.unit_id].append(bucket)
    sizes = select(
        SubtreeSize.unit_id, SubtreeSize.level, SubtreeSize.until, SubtreeSize.units
    ).where(SubtreeSize.unit_id.in_(sorted(by_unit)))
    for unit_id, level, until, count in await session.rows(unscoped(sizes, why=_CHECKED)):
        for bucket in by_unit[unit_id]:
            if until > bucket.start:
                below = found[bucket].below
                below[Level(level)] = below.get(Level(level), 0) + count


def _own_figures(span: int, units: set[int], months: set[int]) -> Select[Any]:
    """(unit, bucket start, combo, element, contribution) of units' own stored values."""
    start = V.month_index - V.month_index % span
    scan = (
        select(
            V.jurisdiction_id.label("unit_id"),
            V.combo_id,
            literal(span).label("span"),
            start.label("start"),
            V.month_index,
            V.value,
            DataElement.time_aggregation.label("aggregation"),
        )
        .join(OptionCombo, C.id == V.combo_id)
        .join(DataElement, DataElement.id == C.element_id)
        .where(
            V.jurisdiction_id.in_(sorted(units)),
            V.month_index >= min(months),
            V.month_index < max(months) + span,
            element_span() <= span,
        )
        .subquery()
    )
    own = contributions(scan).subquery()
    return (
        select(own.c.unit_id, own.c.start, own.c.combo_id, C.element_id, own.c.contribution)
        .join(OptionCombo, C.id == own.c.combo_id)
        .where(own.c.start.in_(sorted(months)))
    )
