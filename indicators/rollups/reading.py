"""Reading the store for many units and periods at once: a few statements, whatever the count.

The callers pass units they have already checked against the caller's scope: a unit's
aggregate covers its whole subtree, which lies inside any scope that holds the unit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from indicators.rollups.evaluation import Figures, UnitBucket
from indicators.rollups.models import Rollup, RollupReport
from quhua.db.session import RequestSession
from tenancy.levels import Level
from tenancy.models import SubtreeSize
from tenancy.scope import unscoped

_CHECKED = "the units were checked against the caller's scope; their subtrees lie inside it"


async def read_figures(
    session: RequestSession, buckets: Sequence[UnitBucket]
) -> dict[UnitBucket, Figures]:
    """The store's totals, report counts and expected counts for each (unit, period)."""
    found = {bucket: Figures() for bucket in buckets}
    keys = {(b.unit_id, b.span, b.month_index): b for b in buckets}
    units = sorted({b.unit_id for b in buckets})
    # One statement per table and span (a request asks for one span or a few): plain IN
    # lists keep both databases on the primary key, where row-value lists did not on SQLite.
    by_span: dict[int, set[int]] = defaultdict(set)
    for bucket in buckets:
        by_span[bucket.span].add(bucket.month_index)
    for span, months in sorted(by_span.items()):
        for store, key, amount in (
            (Rollup, Rollup.combo_id, Rollup.total),
            (RollupReport, RollupReport.element_id, RollupReport.units),
        ):
            statement = select(store.unit_id, store.month_index, key, amount).where(
                store.unit_id.in_(units),
                store.span == span,
                store.month_index.in_(sorted(months)),
            )
            for unit_id, month_index, cell, value in await session.rows(
                unscoped(statement, why=_CHECKED)
            ):
                asked = keys.get((unit_id, span, month_index))
                if asked is not None:
                    kept = found[asked].totals if store is Rollup else found[asked].reports
                    kept[cell] = value
    if units:
        by_unit: dict[int, list[UnitBucket]] = defaultdict(list)
        for bucket in buckets:
            by_unit[bucket.unit_id].append(bucket)
        sizes = select(SubtreeSize.unit_id, SubtreeSize.level, SubtreeSize.units).where(
            SubtreeSize.unit_id.in_(units)
        )
        for unit_id, level, count in await session.rows(unscoped(sizes, why=_CHECKED)):
            for bucket in by_unit[unit_id]:
                found[bucket].below[Level(level)] = count
    return found
