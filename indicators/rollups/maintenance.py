"""Keeping the roll-up store fresh inside the writer's own transaction, set-based.

A writer names the windows it is about to change in `windows`: a unit, a year and every
combo of an element whose values change (`windows_of` finds them from the cells). It runs
`BEFORE`, changes data_values, then runs `AFTER` and `apply_statements`. BEFORE measures,
with a minus sign, each window's contribution to every bucket (month, quarter, year) from a
scan of its stored values; AFTER measures it again, plus. The differences travel up one level
at a time (each unit's parent sums its children's), and the store adds them. The cost follows
the number of values in the changed windows times the depth of the tree, never the size of a
subtree.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    Column,
    Double,
    Executable,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.sql import ColumnElement, Select

from indicators.models import DataElement, DataValue, OptionCombo, TimeAggregation
from indicators.periods import PeriodType
from indicators.rollups.models import Rollup, RollupReport
from tenancy.levels import Level
from tenancy.models import Jurisdiction

SPANS = tuple(sorted({period_type.months for period_type in PeriodType}))
YEAR = PeriodType.YEAR.months

_metadata = MetaData()
windows = Table(
    "rollup_windows",
    _metadata,
    Column("unit_id", Integer, nullable=False),
    Column("combo_id", Integer, nullable=False),
    Column("year_start", Integer, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)


def _delta_table(name: str, key: str, amount: Column[Any]) -> Table:
    return Table(
        name,
        _metadata,
        Column("unit_id", Integer, nullable=False),
        Column("level", String(10), nullable=False),
        Column(key, Integer, nullable=False),
        Column("span", Integer, nullable=False),
        Column("month_index", Integer, nullable=False),
        amount,
        Index(f"ix_{name}_level", "level"),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DELETE ROWS",
    )


_totals = _delta_table("rollup_deltas", "combo_id", Column("amount", Double))
_reports = _delta_table("rollup_report_deltas", "element_id", Column("amount", Integer))
TEMPORARY_TABLES = (windows, _totals, _reports)

W = windows.c
V = cast(Table, DataValue.__table__).c
C = cast(Table, OptionCombo.__table__).c
E = cast(Table, DataElement.__table__).c
J = cast(Table, Jurisdiction.__table__).c


def _element_span() -> ColumnElement[int]:
    return case(
        *((E.period_type == period_type.value, period_type.months) for period_type in PeriodType)
    )


def _scan(span: int, *, shorter: bool = False) -> Select[Any]:
    """Every stored value of the windows, of elements stored at most (or, when shorter,
    less than) `span` months long."""
    return (
        select()
        .select_from(windows)
        .join(Jurisdiction, J.id == W.unit_id)
        .join(OptionCombo, C.id == W.combo_id)
        .join(DataElement, E.id == C.element_id)
        .join(
            DataValue,
            and_(
                V.jurisdiction_id == W.unit_id,
                V.combo_id == W.combo_id,
                V.month_index >= W.year_start,
                V.month_index < W.year_start + YEAR,
            ),
        )
        .where(_element_span() < span if shorter else _element_span() <= span)
    )


def _own(span: int, sign: int) -> Executable:
    """Values stored `span` months long: each is its own bucket's contribution, times sign."""
    rows = (
        _scan(span)
        .add_columns(W.unit_id, J.level, V.combo_id, literal(span), V.month_index, V.value * sign)
        .where(_element_span() == span)
    )
    return _totals.insert().from_select(
        ["unit_id", "level", "combo_id", "span", "month_index", "amount"], rows
    )


def _contributions(span: int, sign: int) -> Executable:
    """Each window's contribution to each bucket of this span of elements stored by shorter
    periods: per combo, their sum, average or latest value, times sign."""
    start = (V.month_index - V.month_index % span).label("start")
    grouped = (
        _scan(span, shorter=True)
        .add_columns(
            W.unit_id,
            J.level,
            V.combo_id,
            start,
            E.time_aggregation.label("aggregation"),
            func.sum(V.value).label("total"),
            func.avg(V.value).label("average"),
            func.max(V.month_index).label("latest"),
        )
        .group_by(W.unit_id, J.level, V.combo_id, start, E.time_aggregation)
        .subquery()
    )
    last = cast(Table, DataValue.__table__).alias("last")
    is_last = grouped.c.aggregation == TimeAggregation.LAST.value
    contribution = case(
        (is_last, last.c.value),
        (grouped.c.aggregation == TimeAggregation.AVERAGE.value, grouped.c.average),
        else_=grouped.c.total,
    )
    rows = select(
        grouped.c.unit_id,
        grouped.c.level,
        grouped.c.combo_id,
        literal(span),
        grouped.c.start,
        contribution * sign,
    ).select_from(
        grouped.outerjoin(
            last,
            and_(
                is_last,
                last.c.jurisdiction_id == grouped.c.unit_id,
                last.c.combo_id == grouped.c.combo_id,
                last.c.month_index == grouped.c.latest,
            ),
        )
    )
    return _totals.insert().from_select(
        ["unit_id", "level", "combo_id", "span", "month_index", "amount"], rows
    )


def _reported(span: int, sign: int) -> Executable:
    """Each window's unit, once per bucket of this span in which it reported the element."""
    start = (V.month_index - V.month_index % span).label("start")
    rows = (
        _scan(span)
        .add_columns(W.unit_id, J.level, C.element_id, literal(span), start, literal(sign))
        .group_by(W.unit_id, J.level, C.element_id, start)
    )
    return _reports.insert().from_select(
        ["unit_id", "level", "element_id", "span", "month_index", "amount"], rows
    )


def _measure(sign: int) -> list[Executable]:
    statements = []
    for span in SPANS:
        statements.append(_own(span, sign))
        if span > SPANS[0]:
            statements.append(_contributions(span, sign))
        statements.append(_reported(span, sign))
    return statements


BEFORE = _measure(-1)
AFTER = _measure(+1)


def _lift(deltas: Table, key: str, level: Level) -> Executable:
    """Add to the deltas each parent's share: the sum of its children's at `level`."""
    d = deltas.c
    assert level.parent is not None
    rows = (
        select(
            J.parent_id,
            literal(level.parent.value),
            d[key],
            d.span,
            d.month_index,
            func.sum(d.amount),
        )
        .select_from(deltas)
        .join(Jurisdiction, J.id == d.unit_id)
        .where(d.level == level.value)
        .group_by(J.parent_id, d[key], d.span, d.month_index)
        .having(func.sum(d.amount) != 0)
    )
    return deltas.insert().from_select(
        ["unit_id", "level", key, "span", "month_index", "amount"], rows
    )


def _store(deltas: Table, key: str, dialect: str) -> Executable:
    """Add each unit's summed deltas to the store, in key order."""
    d = deltas.c
    keys = [d.unit_id, d.span, d.month_index, d[key]]
    rows = (
        select(*keys, func.sum(d.amount).label("amount"))
        .group_by(*keys)
        .having(func.sum(d.amount) != 0)
        # Key order: writers meeting on a common ancestor lock its rows in one order, never
        # crossing into a deadlock.
        .order_by(*keys)
    )
    store = cast(Table, (Rollup if key == "combo_id" else RollupReport).__table__)
    column = "total" if key == "combo_id" else "units"
    names = [c.name for c in store.primary_key.columns]
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = make(store).from_select([*names, column], rows)
    return statement.on_conflict_do_update(
        index_elements=names, set_={column: store.c[column] + statement.excluded[column]}
    )


def create_statements() -> list[Executable]:
    return [
        *(CreateTable(table, if_not_exists=True) for table in TEMPORARY_TABLES),
        *(
            CreateIndex(index, if_not_exists=True)
            for table in TEMPORARY_TABLES
            for index in table.indexes
        ),
    ]


def apply_statements(dialect: str) -> list[Executable]:
    """Lift the measured differences up the tree, add them to the store, clear the scratch."""
    deepest_first = [level for level in reversed(Level) if level.parent is not None]
    return [
        *(_lift(_totals, "combo_id", level) for level in deepest_first),
        *(_lift(_reports, "element_id", level) for level in deepest_first),
        _store(_totals, "combo_id", dialect),
        _store(_reports, "element_id", dialect),
        *(delete(table) for table in TEMPORARY_TABLES),
    ]


def windows_of(cells: Select[Any]) -> Executable:
    """Fill `windows` from a select of (unit id, combo id, month index) cells: each cell's
    unit and year with every combo of the cell's element."""
    cell = cast(Table, OptionCombo.__table__).alias("cell")
    sibling = cast(Table, OptionCombo.__table__).alias("sibling")
    subquery = cells.subquery()
    u, c, m = subquery.c
    changed = (
        select(u.label("unit_id"), cell.c.element_id, (m - m % YEAR).label("year_start"))
        .select_from(subquery.join(cell, cell.c.id == c))
        .distinct()
        .subquery()
    )
    return windows.insert().from_select(
        ["unit_id", "combo_id", "year_start"],
        select(changed.c.unit_id, sibling.c.id, changed.c.year_start).join(
            sibling, sibling.c.element_id == changed.c.element_id
        ),
    )


def lock_units(unit_ids: Select[Any] | list[int]) -> Select[Any]:
    """Hold the units about to change, in id order, until commit.

    Two writers measuring the same unit's windows at once would each add a contribution
    measured without the other's values; waiting on the unit makes the second measure after
    the first commits. NO KEY UPDATE leaves the foreign-key checks of inserts unblocked.
    """
    return select(J.id).where(J.id.in_(unit_ids)).order_by(J.id).with_for_update(key_share=True)


def rebuild_statements(dialect: str) -> list[Executable]:
    """Empty the store and measure every stored value afresh (a migration, a repair)."""
    return [
        delete(Rollup),
        delete(RollupReport),
        *create_statements(),
        windows_of(select(V.jurisdiction_id, V.combo_id, V.month_index)),
        *AFTER,
        *apply_statements(dialect),
    ]
