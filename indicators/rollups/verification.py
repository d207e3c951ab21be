"""Whether the store still equals its values, and restoring it when it does not.

The store is derived data: every row of rollups and rollup_reports follows from data_values
(and subtree_sizes from the tree). Verifying measures it afresh inside the caller's
transaction, compares, and leaves the caller to roll back; rebuilding is the same
measurement, committed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Column,
    Connection,
    Enum,
    Index,
    MetaData,
    String,
    Table,
    and_,
    case,
    func,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.sql import ColumnElement, Select

from indicators.models import DataElement, DataValue, OptionCombo, TimeAggregation, ValueType
from indicators.rollups.maintenance import rebuild_statements
from indicators.rollups.models import Rollup, RollupReport
from tenancy.models import Jurisdiction, SubtreeSize
from tenancy.paths import within
from tenancy.sizes import count_subtrees

# Amounts and averages are sums of doubles kept by differences: they may drift by rounding,
# never by more than this share of their size plus this much (well below a cent, or a
# twelfth of a person in an average). Counts are whole numbers, kept exactly.
RELATIVE_TOLERANCE = 1e-11
ABSOLUTE_TOLERANCE = 1e-6

_SCRATCH = MetaData()
_KEY = ("unit_id", "span", "month_index")


def _copy(name: str, source: Table) -> Table:
    """A scratch table with the source's columns (enums as plain strings), keyed like it:
    each side of the comparison seeks the other's rows by key."""
    columns = [
        Column(c.name, String(40) if isinstance(c.type, Enum) else c.type) for c in source.columns
    ]
    key = [c.name for c in source.primary_key.columns]
    return Table(
        name,
        _SCRATCH,
        *columns,
        Index(f"ix_{name}_key", *key, unique=True),
        prefixes=["TEMPORARY"],
    )


_VALUES = cast(Table, DataValue.__table__)
_ROLLUPS = cast(Table, Rollup.__table__)
_REPORTS = cast(Table, RollupReport.__table__)
_SIZES = cast(Table, SubtreeSize.__table__)
stored_rollups = _copy("verify_rollups", _ROLLUPS)
stored_reports = _copy("verify_reports", _REPORTS)
stored_sizes = _copy("verify_sizes", _SIZES)
J = cast(Table, Jurisdiction.__table__).c
C = cast(Table, OptionCombo.__table__).c
E = cast(Table, DataElement.__table__).c


@dataclass(frozen=True, slots=True)
class Difference:
    """One row where the store and a fresh measurement disagree (None: no row)."""

    table: str
    unit: str
    key: str  # span and month, and the combo or element, as a person reads them
    stored: float | None
    fresh: float | None

    def __str__(self) -> str:
        return f"{self.table} {self.unit} {self.key}: stored {self.stored}, fresh {self.fresh}"


@dataclass(frozen=True, slots=True)
class Filter:
    """Which part of the store to look at: a subtree's units, some elements' rows."""

    under: str | None = None  # a unit's path
    elements: Sequence[int] | None = None

    def units(self, unit: ColumnElement[int]) -> ColumnElement[bool]:
        if self.under is None:
            return true()
        inside = select(J.id).where(within(J.path, self.under))
        return unit.in_(inside)

    def combos(self, combo: ColumnElement[int]) -> ColumnElement[bool]:
        if self.elements is None:
            return true()
        return combo.in_(select(C.id).where(C.element_id.in_(self.elements)))

    def element(self, element: ColumnElement[int]) -> ColumnElement[bool]:
        if self.elements is None:
            return true()
        return element.in_(self.elements)


Progress = Callable[[int, int], None]


def hold_writers(connection: Connection) -> None:
    """Keep every writer of values out until the caller's transaction ends (PostgreSQL;
    on SQLite the caller's writing transaction already does).

    Writers keep the store by differences measured against data_values, holding their units
    (lock_units) from before they measure until they commit. EXCLUSIVE waits for every writer
    under way and holds new ones at that first step (plain reads go on); SHARE on data_values
    keeps out anything that writes values without holding units. Writers held there check
    the catalogue again once they go on (stale_elements).
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE jurisdictions IN EXCLUSIVE MODE"))
        connection.execute(text("LOCK TABLE data_values IN SHARE MODE"))


def rebuild(
    connection: Connection,
    *,
    elements: Sequence[int] | None = None,
    progress: Progress | None = None,
) -> int:
    """Measure the store afresh (these elements' rows only, when given) in the caller's
    transaction; returns how many stored values were measured."""
    count = select(func.count()).select_from(DataValue)
    if elements is not None:
        count = count.where(Filter(elements=elements).combos(_VALUES.c.combo_id))
    hold_writers(connection)
    measured = int(connection.execute(count).scalar_one())
    statements = rebuild_statements(connection.dialect.name, list(elements) if elements else None)
    if elements is None:
        total = len(statements) + 1
        count_subtrees(connection)
    else:
        total = len(statements)
    for done, statement in enumerate(statements, start=total - len(statements) + 1):
        connection.execute(statement)
        if progress is not None:
            progress(done, total)
    return measured


def verify(
    connection: Connection, *, scope: Filter | None = None, progress: Progress | None = None
) -> list[Difference]:
    """Every difference between the store and a fresh measurement of the values.

    Writes the fresh measurement into the store inside the caller's transaction: the caller
    rolls back (unless it means to keep the rebuilt store).
    """
    scope = scope or Filter()
    for table in (stored_rollups, stored_reports, stored_sizes):
        table.drop(connection, checkfirst=True)
        table.create(connection)
    connection.execute(
        stored_rollups.insert().from_select(
            [*_KEY, "combo_id", "total"],
            select(*(_ROLLUPS.c[c] for c in (*_KEY, "combo_id", "total"))).where(
                scope.units(_ROLLUPS.c.unit_id), scope.combos(_ROLLUPS.c.combo_id)
            ),
        )
    )
    connection.execute(
        stored_reports.insert().from_select(
            [*_KEY, "element_id", "units"],
            select(*(_REPORTS.c[c] for c in (*_KEY, "element_id", "units"))).where(
                scope.units(_REPORTS.c.unit_id), scope.element(_REPORTS.c.element_id)
            ),
        )
    )
    connection.execute(
        stored_sizes.insert().from_select(
            ["unit_id", "level", "until", "units"],
            select(_SIZES.c.unit_id, _SIZES.c.level, _SIZES.c.until, _SIZES.c.units).where(
                scope.units(_SIZES.c.unit_id)
            ),
        )
    )
    elements = list(scope.elements) if scope.elements is not None else None
    rebuild(connection, elements=elements, progress=progress)
    found = _rollup_differences(connection, scope) + _report_differences(connection, scope)
    if scope.elements is None:
        found += _size_differences(connection, scope)
    return found


def _exact(combo: ColumnElement[int]) -> ColumnElement[bool]:
    """Whether the combo's figures are counts kept exactly (whole numbers, never averaged)."""
    counted = select(C.id).join(DataElement, E.id == C.element_id)
    counted = counted.where(
        E.value_type == ValueType.INTEGER.value,
        E.time_aggregation != TimeAggregation.AVERAGE.value,
    )
    return combo.in_(counted)


def _apart(stored: Any, fresh: Any, exact: ColumnElement[bool]) -> ColumnElement[bool]:
    a, b = func.coalesce(stored, 0.0), func.coalesce(fresh, 0.0)
    close = func.abs(a - b) <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * (func.abs(a) + func.abs(b))
    return case((exact, a != b), else_=~close)


def _both_ways(
    kept: Table, store: Table, columns: Sequence[str], measure: str, where: ColumnElement[bool]
) -> Select[Any]:
    """Rows of either side with the other side's measure (null where it has no row)."""
    on_kept = and_(*(store.c[c] == kept.c[c] for c in columns))
    from_kept = select(
        *(kept.c[c] for c in columns),
        kept.c[measure].label("kept"),
        store.c[measure].label("fresh"),
    ).outerjoin(store, on_kept)
    missing = ~select(kept.c[columns[0]]).where(on_kept).exists()
    from_store = select(
        *(store.c[c] for c in columns), null().label("kept"), store.c[measure].label("fresh")
    ).where(missing, where)
    both = union_all(from_kept, from_store).subquery("both")
    return select(*both.c)


def _rollup_differences(connection: Connection, scope: Filter) -> list[Difference]:
    columns = [*_KEY, "combo_id"]
    where = and_(scope.units(_ROLLUPS.c.unit_id), scope.combos(_ROLLUPS.c.combo_id))
    both = _both_ways(stored_rollups, _ROLLUPS, columns, "total", where).subquery("b")
    stored, fresh = list(both.c)[-2:]
    # Outer joins: a row of a unit or combo that no longer exists is a difference too.
    rows = connection.execute(
        select(
            both.c.unit_id, J.code, both.c.span, both.c.month_index, C.key, E.code, stored, fresh
        )
        .outerjoin(Jurisdiction, J.id == both.c.unit_id)
        .outerjoin(OptionCombo, C.id == both.c.combo_id)
        .outerjoin(DataElement, E.id == C.element_id)
        .where(_apart(stored, fresh, _exact(both.c.combo_id)))
        .order_by(J.code, E.code, C.key, both.c.span, both.c.month_index)
    )
    return [
        Difference(
            "rollups",
            code or f"unit #{unit_id}",
            f"{element or '?'}[{key if key is not None else '?'}] {_bucket(span, month)}",
            kept,
            now,
        )
        for unit_id, code, span, month, key, element, kept, now in rows
    ]


def _report_differences(connection: Connection, scope: Filter) -> list[Difference]:
    columns = [*_KEY, "element_id"]
    where = and_(scope.units(_REPORTS.c.unit_id), scope.element(_REPORTS.c.element_id))
    both = _both_ways(stored_reports, _REPORTS, columns, "units", where).subquery("b")
    stored, fresh = list(both.c)[-2:]
    rows = connection.execute(
        select(both.c.unit_id, J.code, both.c.span, both.c.month_index, E.code, stored, fresh)
        .outerjoin(Jurisdiction, J.id == both.c.unit_id)
        .outerjoin(DataElement, E.id == both.c.element_id)
        .where(func.coalesce(stored, 0) != func.coalesce(fresh, 0))
        .order_by(J.code, E.code, both.c.span, both.c.month_index)
    )
    return [
        Difference(
            "rollup_reports",
            code or f"unit #{unit_id}",
            f"{element or '?'} {_bucket(span, month)}",
            kept,
            now,
        )
        for unit_id, code, span, month, element, kept, now in rows
    ]


def _size_differences(connection: Connection, scope: Filter) -> list[Difference]:
    columns = ["unit_id", "level", "until"]
    both = _both_ways(
        stored_sizes, _SIZES, columns, "units", scope.units(_SIZES.c.unit_id)
    ).subquery("b")
    stored, fresh = list(both.c)[-2:]
    rows = connection.execute(
        select(J.code, both.c.level, both.c.until, stored, fresh)
        .join(Jurisdiction, J.id == both.c.unit_id)
        .where(or_(stored.is_(None), fresh.is_(None), stored != fresh))
        .order_by(J.code, both.c.level, both.c.until)
    )
    return [
        Difference("subtree_sizes", unit, f"{level} units until {until}", kept, now)
        for unit, level, until, kept, now in rows
    ]


def _bucket(span: int, month_index: int) -> str:
    year, month = divmod(month_index, 12)
    return f"{span} month(s) from {year}-{month + 1:02d}"
