"""The roll-up upkeep's temporary tables: what a writer changes, and what the upkeep works
out from it before adding differences to the store.

They hold one write's rows and are empty between writes: PostgreSQL deletes their rows at
commit, and SQLite, which keeps a connection's temporary tables and their rows, has them
emptied by the upkeep's last statements (`lifting.clear_statements`). Levels travel as
depths (1 province ... 5 village), time aggregations as `AGGREGATION_CODES`. docs/rollups.md
shows what each holds for a worked example.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    Double,
    Executable,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    text,
)
from sqlalchemy.schema import CreateIndex, CreateTable

from indicators.models import TimeAggregation
from indicators.periods import PeriodType

_metadata = MetaData()
# Months in a bucket of each period type, shortest first.
SPANS = tuple(sorted({period_type.months for period_type in PeriodType}))
# The scratch tables carry a level as its depth and a time aggregation as its position
# here: every grouping of the upkeep sorts and compares them, and integers sort and compare
# cheaper than text (docs/benchmarks.md, "Fewer sorts and one table less").
AGGREGATION_CODES = {aggregation: code for code, aggregation in enumerate(TimeAggregation)}


def _temporary(name: str, *columns: Column[Any] | Index, **options: Any) -> Table:
    return Table(
        name,
        _metadata,
        *columns,
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DELETE ROWS",
        **options,
    )


# A change: the cell, its value before and after (None for nothing stored).
def _change_columns() -> tuple[Column[Any], ...]:
    return (
        Column("unit_id", Integer, nullable=False),
        Column("combo_id", Integer, nullable=False),
        Column("month_index", Integer, nullable=False),
        Column("old", Double),
        Column("new", Double),
    )


# A writer's changes listed row by row (submissions), for `maintenance.cells_from` to read.
changes = _temporary("rollup_changes", *_change_columns())


# Whose store row a unit's own difference goes to, and its level (maintenance._target).
def _target_columns() -> tuple[Column[Any], Column[Any]]:
    return (
        Column("target", Integer, nullable=False),
        Column("target_level", Integer, nullable=False),
    )


# The changes with what the upkeep asks of each: its element, and whose store row it feeds;
# and what the writer keeps of each for its own writes: the stored row, the input line.
cells = _temporary(
    "rollup_cells",
    Column("unit_id", Integer, nullable=False),
    Column("combo_id", Integer, nullable=False),
    Column("month_index", Integer, nullable=False),
    # The values' own type: writers store and audit these, and a double keeps fifteen
    # digits through PostgreSQL's conversion back to numeric.
    Column("old", Numeric(20, 2, asdecimal=False)),
    Column("new", Numeric(20, 2, asdecimal=False)),
    Column("element_id", Integer, nullable=False),
    Column("element_span", Integer, nullable=False),
    Column("aggregation", Integer, nullable=False),
    *_target_columns(),
    Column("stored_id", Integer),
    Column("line", Integer),
)
# The months the changes fall in, by element (a handful): whether two share a longer
# bucket, where a unit may have several changes of an element. `_one_month_per_bucket`
# counts these rows, so they are written before anything asks it.
months = _temporary(
    "rollup_months",
    Column("element_id", Integer, nullable=False),
    Column("element_span", Integer, nullable=False),
    Column("month_index", Integer, nullable=False),
)
# The buckets of those months (of the element's span or longer) in which some unit reported
# the element before the write: in no other can a unit hold any value of it.
reported_buckets = _temporary(
    "rollup_reported_buckets",
    Column("element_id", Integer, primary_key=True),
    Column("span", Integer, primary_key=True),
    Column("start", Integer, primary_key=True),
    sqlite_with_rowid=False,
)
# The changes summed per target, combo and period, apart by how far the unit's reporting
# of the element moves there (its report key's `moved`; 0 without a key).
cell_moves = _temporary(
    "rollup_cell_moves",
    *_target_columns(),
    Column("combo_id", Integer, nullable=False),
    Column("element_span", Integer, nullable=False),
    Column("aggregation", Integer, nullable=False),
    Column("month_index", Integer, nullable=False),
    Column("moved", Integer, nullable=False),
    Column("amount", Double),
)
# Buckets longer than the element's period, of averaged or latest-value elements, where
# some element has two months of the changes in one year: each measured before the write
# (unless fresh) and after it (`maintenance._window_contributions`). With one month per
# year the look at the year serves instead (`rollup_cell_windows`), and this table stays
# empty.
windows = _temporary(
    "rollup_windows",
    Column("unit_id", Integer, nullable=False),
    Column("combo_id", Integer, nullable=False),
    Column("span", Integer, nullable=False),
    Column("start", Integer, nullable=False),
    Column("aggregation", Integer, nullable=False),
    *_target_columns(),
    # Nothing of the element was in the bucket before: no measuring before the write.
    Column("fresh", Integer, nullable=False),
    # A fresh bucket's only value, when one appears: its contribution, no measuring after.
    Column("sole", Double),
)


# Latest values going (deleted) where no two months of the changes share a year: each
# with what its year's values and every shorter bucket's were before the write (one look
# at the year serves them all): how many, their sum, the latest month, and the value there
# where that month is not after the change's (a later one stays the latest, whatever its
# value). Kept until after the write, where the value left is measured; every other
# change's look is summed at once (`maintenance._window_look_deltas_now`).
def _bucket_columns() -> list[Column[Any]]:
    return [
        Column(f"{name}_{span}", kind)
        for span in SPANS[1:]
        for name, kind in (
            ("count", Integer),
            ("total", Double),
            ("latest", Integer),
            ("value", Double),
        )
    ]


cell_windows = _temporary(
    "rollup_cell_windows",
    *_change_columns(),
    Column("element_span", Integer, nullable=False),
    Column("aggregation", Integer, nullable=False),
    Column("moved", Integer, nullable=False),
    *_target_columns(),
    *_bucket_columns(),
)
# Each unit's element and period in which values appear or go, and how far the unit's
# reporting of it moves: `moved` is the longest span whose bucket the unit starts (or
# stops) reporting the element in, 0 for none. Spans nest, so it moves in every shorter one.
report_keys = _temporary(
    "rollup_report_keys",
    Column("unit_id", Integer, primary_key=True),
    Column("element_id", Integer, primary_key=True),
    Column("month_index", Integer, primary_key=True),
    *_target_columns(),
    Column("element_span", Integer, nullable=False),
    Column("inserts", Integer, nullable=False),
    Column("deletes", Integer, nullable=False),
    # Every cell of the element appears (or goes) here: nothing was (or is left) there.
    Column("complete", Integer, nullable=False),
    Column("moved", Integer, nullable=False),
    # Keyed by the cell's key (the changes look their key up by it), without a rowid on
    # SQLite: one seek finds the row, where an index found its rowid first.
    sqlite_with_rowid=False,
)


# Differences to add to the store, per unit and level: first each target's own, then each
# lift adds the parents' sums one level up; the lifts read one level's rows at a time.
def _deltas(name: str, key: str, amount: Column[Any]) -> Table:
    return _temporary(
        name,
        Column("unit_id", Integer, nullable=False),
        Column("level", Integer, nullable=False),
        Column(key, Integer, nullable=False),
        Column("span", Integer, nullable=False),
        Column("month_index", Integer, nullable=False),
        amount,
        Index(f"ix_{name}_level", "level"),
    )


totals = _deltas("rollup_deltas", "combo_id", Column("amount", Double))
report_totals = _deltas("rollup_report_deltas", "element_id", Column("amount", Integer))
# The report keys that move, counted per target, element, period and how far they move
# (+1 for each unit starting, -1 for each stopping): far fewer rows than the keys.
report_moves = _temporary(
    "rollup_report_moves",
    *_target_columns(),
    Column("element_id", Integer, nullable=False),
    Column("element_span", Integer, nullable=False),
    Column("month_index", Integer, nullable=False),
    Column("moved", Integer, nullable=False),
    Column("amount", Integer, nullable=False),
)
# Every scratch table: created by `create_statements`, emptied by `clear_statements`.
TEMPORARY_TABLES = (
    changes,
    cells,
    months,
    reported_buckets,
    cell_moves,
    windows,
    cell_windows,
    report_keys,
    report_moves,
    totals,
    report_totals,
)


def create_statements(dialect: str) -> list[Executable]:
    """Prepare a writer's transaction: the scratch tables, and PostgreSQL's planner.

    The upkeep's statements probe an index per row; PostgreSQL's JIT took their estimated
    costs for high and spent several times their running time compiling them. With the
    default cost of a random page (4, for disks that seek), its planner hashed every unit
    and every stored value to join a month's file of a few thousand units, a cost growing
    with the tables rather than the file; what writers touch is cached, where a probe
    costs about what a page read in order does. The figures are in docs/benchmarks.md.
    Both settings are LOCAL: they end with the writer's transaction.
    """
    session = (
        [text("SET LOCAL jit = off"), text("SET LOCAL random_page_cost = 1.1")]
        if dialect == "postgresql"
        else []
    )
    return [
        *session,
        *(CreateTable(table, if_not_exists=True) for table in TEMPORARY_TABLES),
        *(
            CreateIndex(index, if_not_exists=True)
            for table in TEMPORARY_TABLES
            for index in table.indexes
        ),
    ]
