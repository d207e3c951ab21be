"""Reading the store for many units and periods at once: three statements, whatever the count.

The callers pass units they have already checked against the caller's scope: a unit's
aggregate covers its whole subtree, which lies inside any scope that holds the unit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, tuple_

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
    if not buckets:
        return found
    keys = {(b.unit_id, b.span, b.month_index): b for b in buckets}
    units = sorted({b.unit_id for b in buckets})
    by_unit: dict[int, list[UnitBucket]] = {}
    for bucket in buckets:
        by_unit.setdefault(bucket.unit_id, []).append(bucket)
    wanted = list(keys)
    totals = select(Rollup.unit_id, Rollup.span, Rollup.month_index, Rollup.combo_id, Rollup.total)
    totals = totals.where(tuple_(Rollup.unit_id, Rollup.span, Rollup.month_index).in_(wanted))
    for unit_id, span, month_index, combo_id, total in await session.rows(
        unscoped(totals, why=_CHECKED)
    ):
        found[keys[unit_id, span, month_index]].totals[combo_id] = total
    reports = select(
        RollupReport.unit_id,
        RollupReport.span,
        RollupReport.month_index,
        RollupReport.element_id,
        RollupReport.units,
    ).where(tuple_(RollupReport.unit_id, RollupReport.span, RollupReport.month_index).in_(wanted))
    for unit_id, span, month_index, element_id, count in await session.rows(
        unscoped(reports, why=_CHECKED)
    ):
        found[keys[unit_id, span, month_index]].reports[element_id] = count
    sizes = select(SubtreeSize.unit_id, SubtreeSize.level, SubtreeSize.units).where(
        SubtreeSize.unit_id.in_(units)
    )
    for unit_id, level, count in await session.rows(unscoped(sizes, why=_CHECKED)):
        for bucket in by_unit[unit_id]:
            found[bucket].below[Level(level)] = count
    return found
