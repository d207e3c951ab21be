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
        totals = select(Rollup.unit_id, Rollup.month_index, Rollup.combo_id, Rollup.total).where(
            Rollup.unit_id.in_(units),
            Rollup.span == span,
            Rollup.month_index.in_(sorted(months)),
        )
        for unit_id, month_index, combo_id, total in await session.rows(
            unscoped(totals, why=_CHECKED)
        ):
            asked = keys.get((unit_id, span, month_index))
            if asked is not None:
                found[asked].totals[combo_id] = total
        reports = select(
            RollupReport.unit_id,
            RollupReport.month_index,
            RollupReport.element_id,
            RollupReport.units,
        ).where(
            RollupReport.unit_id.in_(units),
            RollupReport.span == span,
            RollupReport.month_index.in_(sorted(months)),
        )
        for unit_id, month_index, element_id, count in await session.rows(
            unscoped(reports, why=_CHECKED)
        ):
            asked = keys.get((unit_id, span, month_index))
            if asked is not None:
                found[asked].reports[element_id] = count
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
