"""A unit's own contribution to a bucket: its stored values there, combined over time.

The one definition of the time aggregations, in SQL, used both to keep the store fresh and
to read the units the store leaves out (those of the deepest level).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, and_, case, func, select
from sqlalchemy.sql import ColumnElement, Select, Subquery

from indicators.models import DataElement, DataValue, TimeAggregation
from indicators.periods import PeriodType

V = cast(Table, DataValue.__table__).c
E = cast(Table, DataElement.__table__).c


def element_span() -> ColumnElement[int]:
    """Months in one stored period of the element (`data_elements` in the FROM clause)."""
    return case(
        *((E.period_type == period_type.value, period_type.months) for period_type in PeriodType)
    )


def bucket_contribution(
    unit_id: ColumnElement[int],
    combo_id: ColumnElement[int],
    start: ColumnElement[int],
    span: ColumnElement[int],
    last: ColumnElement[bool],
) -> ColumnElement[Any]:
    """One unit's contribution to one bucket of an averaged or latest-value (`last`)
    element, as a subquery correlated to the columns given: an index seek (the latest
    value) or a short range (the average), for measuring a few buckets among many."""
    inside = in_bucket(unit_id, combo_id, start, span)
    latest = select(V.value).where(inside).order_by(V.month_index.desc()).limit(1)
    average = select(func.avg(V.value)).where(inside)
    return case((last, latest.scalar_subquery()), else_=average.scalar_subquery())


def in_bucket(
    unit_id: ColumnElement[int],
    combo_id: ColumnElement[int],
    start: ColumnElement[int],
    span: ColumnElement[int] | int,
) -> ColumnElement[bool]:
    """The unit's stored values of the combo inside the bucket [start, start + span)."""
    return and_(
        V.jurisdiction_id == unit_id,
        V.combo_id == combo_id,
        V.month_index >= start,
        V.month_index < start + span,
    )


def contributions(scan: Subquery) -> Select[Any]:
    """(unit_id, combo_id, span, start, contribution) for each bucket the scan touches.

    The scan has the columns unit_id, combo_id, span, start, month_index, value and
    aggregation: every stored value of a unit and combo inside the bucket [start, start +
    span). Sum adds them, average averages them, last takes the latest.
    """
    s = scan.c
    grouped = (
        select(
            s.unit_id,
            s.combo_id,
            s.span,
            s.start,
            s.aggregation,
            func.sum(s.value).label("total"),
            func.avg(s.value).label("average"),
            func.max(s.month_index).label("latest"),
        )
        .group_by(s.unit_id, s.combo_id, s.span, s.start, s.aggregation)
        .subquery()
    )
    g = grouped.c
    last = cast(Table, DataValue.__table__).alias("last")
    is_last = g.aggregation == TimeAggregation.LAST.value
    contribution = case(
        (is_last, last.c.value),
        (g.aggregation == TimeAggregation.AVERAGE.value, g.average),
        else_=g.total,
    )
    return select(
        g.unit_id, g.combo_id, g.span, g.start, contribution.label("contribution")
    ).select_from(
        grouped.outerjoin(
            last,
            and_(
                is_last,
                last.c.jurisdiction_id == g.unit_id,
                last.c.combo_id == g.combo_id,
                last.c.month_index == g.latest,
            ),
        )
    )
