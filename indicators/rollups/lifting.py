"""The last steps of every write's upkeep: the measured differences go up the tree one level
at a time, are added to the store, and the scratch tables are emptied.

Every difference is measured at its target (a unit above the deepest level) before these
run; see indicators/rollups/maintenance.py for how, and docs/rollups.md for the whole.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Executable, Insert, Table, delete, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import CompoundSelect, Select

from indicators.rollups.models import LEAF, Rollup, RollupReport
from indicators.rollups.scratch import TEMPORARY_TABLES, report_totals, totals
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.scope import unscoped

J = cast(Table, Jurisdiction.__table__).c
_DELTA_COLUMNS = ["unit_id", "level", "span", "month_index", "amount"]
# A reporter's write changes the figures of every ancestor, inside its scope or not: the
# upkeep reads the tree and the store above the changes, and none of it reaches the caller.
ABOVE = "the changes' ancestors, whose store rows the write keeps (never shown to the caller)"


def insert_deltas(deltas: Table, key: str, rows: Select[Any] | CompoundSelect[Any]) -> Insert:
    """Rows (unit, level, key, span, month, amount) added to a table of differences."""
    names = [*_DELTA_COLUMNS[:2], key, *_DELTA_COLUMNS[2:]]
    return deltas.insert().from_select(names, rows)


def _lift(deltas: Table, key: str, level: Level) -> Executable:
    """Add to the deltas each parent's share: the sum of its children's at `level`.

    Lifts run from the deepest stored level up: the rows at `level` are the targets' own
    and those the lift below added, so a lift run before its children's would leave their
    share out."""
    d = deltas.c
    assert level.parent is not None
    rows = (
        select(
            J.parent_id,
            literal(level.parent.depth),
            d[key],
            d.span,
            d.month_index,
            func.sum(d.amount),
        )
        .select_from(deltas)
        .join(Jurisdiction, J.id == d.unit_id)
        .where(d.level == level.depth)
        .group_by(J.parent_id, d[key], d.span, d.month_index)
        .having(func.sum(d.amount) != 0)
    )
    return unscoped(insert_deltas(deltas, key, rows), why=ABOVE)


def _store(deltas: Table, key: str, dialect: str) -> Executable:
    """Add each unit's summed deltas to the store, in key order: after every lift. Rows are
    never deleted here, only added to, so one whose total comes back to 0 stays."""
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


def apply_statements(dialect: str) -> list[Executable]:
    """Lift the measured differences up the tree, add them to the store, clear the scratch.

    In this order: the lifts level by level from the townships up (totals, then counts),
    then the two upserts, then the clear (SQLite keeps the rows for the connection: left
    there, the next write would add them again)."""
    # Nothing is measured at the deepest level: its differences start one level up.
    lifted = [level for level in reversed(Level) if level.parent is not None and level != LEAF]
    return [
        *(_lift(totals, "combo_id", level) for level in lifted),
        *(_lift(report_totals, "element_id", level) for level in lifted),
        _store(totals, "combo_id", dialect),
        _store(report_totals, "element_id", dialect),
        *clear_statements(),
    ]


def clear_statements() -> list[Executable]:
    """Empty the scratch tables (SQLite keeps them, rows and all, for the connection)."""
    return [delete(table) for table in TEMPORARY_TABLES]
