"""Importing values from CSV: streamed through a staging table, checked, merged set-based.

Columns `jurisdiction,element,period,value,disaggregation`. The whole file is one
transaction: every bad row is reported by line number and nothing is written, or every
row is upserted, each change audited with the file's name and line. Re-importing the same
file changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    Executable,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    and_,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import FromClause

from core.db.base import binary_string
from core.db.bulk import append_rows
from core.files.csvfile import read_csv
from core.files.report import FileReport
from core.files.textfiles import TextSource
from indicators.audit import open_change_set
from indicators.catalogue_index import CatalogueIndex, current_elements_in, stale_elements
from indicators.models import DataValue, OptionCombo, ValueChange
from indicators.periods import PeriodError, first_month_from
from indicators.reporting.locks import (
    approvals_between,
    as_locks,
    locks_of,
    written_cells,
    written_months,
)
from indicators.rollups.lifting import apply_statements, clear_statements
from indicators.rollups.maintenance import (
    AFTER,
    BEFORE,
    cells_from,
    lock_units,
)
from indicators.rollups.scratch import cells, create_statements
from indicators.validation.refresh import refresh_violations_sync
from tenancy.models import Jurisdiction

COLUMNS = ("jurisdiction", "element", "period", "value", "disaggregation")
PROGRESS_EVERY = 20_000

_metadata = MetaData()
staging = Table(
    "value_load",
    _metadata,
    Column("line", Integer, nullable=False),
    Column("code", binary_string(40)),
    Column("combo_id", Integer),
    Column("month_index", Integer),
    Column("value", Numeric(20, 2, asdecimal=False)),
    # Levels that report the element, as ",village," for a LIKE test.
    Column("levels", Text),
    Column("ok", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
# The units the file names, looked up once by code for the checks, the locks and the merge
# (each joined the file to the whole tree before).
file_units = Table(
    "value_load_units",
    _metadata,
    Column("code", binary_string(40), primary_key=True),
    Column("id", Integer, nullable=False),
    Column("level", Text, nullable=False),
    Column("parent_id", Integer),
    Column("valid_to", Date),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
    # One seek per staged row instead of two (the code's index, then the row).
    sqlite_with_rowid=False,
)
S = staging.c
U = file_units.c
D = cells.c
J = cast(Table, Jurisdiction.__table__).c
DATA_VALUES = cast(Table, DataValue.__table__)
V = DATA_VALUES.c


@dataclass
class ImportReport(FileReport):
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # Open validation violations at the units and months whose values changed.
    violations: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.errors_dict(),
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "violations": self.violations,
        }


def _staged(
    source: TextSource,
    index: CatalogueIndex,
    report: ImportReport,
    max_errors: int,
    on_progress: Callable[[int], None] | None,
) -> Iterator[tuple[object, ...]]:
    reporting: dict[str, str] = {}  # element → its levels as ",county,township,"
    with source.open() as text:
        for row in read_csv(text, COLUMNS):
            report.rows += 1
            if on_progress is not None and report.rows % PROGRESS_EVERY == 0:
                on_progress(source.bytes_read)
            if row.fields is None:
                report.add_error(
                    row.line,
                    f"{row.width} fields where the header has {row.header_width}",
                    limit=max_errors,
                )
                continue
            code, element_code, period_text, value_text, disaggregation = row.fields
            try:
                element = index.element(element_code)
                period = element.period(period_text)
                combo_id = element.combos[element.combo_key(disaggregation)]
                try:
                    value = float(value_text)
                except ValueError:
                    raise ValueError(f"value {value_text!r} is not a number") from None
                element.check_value(value)
            except (ValueError, PeriodError) as error:
                report.add_error(row.line, str(error), limit=max_errors)
                yield (row.line, code, None, None, None, "", False)
                continue
            levels = reporting.get(element.code)
            if levels is None:
                names = sorted(level.value for level in element.reported_at)
                levels = reporting[element.code] = "," + ",".join(names) + ","
            yield (row.line, code, combo_id, period.month_index, value, levels, True)
    if on_progress is not None:
        on_progress(source.size)


def import_values(
    connection: Connection,
    source: TextSource,
    *,
    index: CatalogueIndex,
    actor: str,
    reason: str,
    dry_run: bool = False,
    max_errors: int = 1000,
    on_progress: Callable[[int], None] | None = None,
    keep_rollups_fresh: bool = True,
    keep_violations: bool = True,
) -> ImportReport:
    """Check and merge a values file inside the caller's transaction (the caller commits).

    keep_rollups_fresh=False exists only to measure what keeping the store costs, in a
    transaction that is rolled back: committed, it would leave the roll-ups stale; so does
    keep_violations=False for the validation violations (which are read from the store, and
    refreshed only with it).
    """
    report = ImportReport()
    for table in (staging, file_units):
        table.drop(connection, checkfirst=True)
        table.create(connection)
    _run(connection, create_statements(connection.dialect.name))
    append_rows(connection, staging, _staged(source, index, report, max_errors, on_progress))
    twice = _index_cells(connection)
    if connection.dialect.name == "postgresql":
        # Autovacuum never sees temporary tables: without statistics the planner took the
        # file for a few rows, and hashed every jurisdiction to check them.
        connection.exec_driver_sql("ANALYZE value_load")
    named = select(J.code, J.id, J.level, J.parent_id, J.valid_to).where(
        J.code.in_(select(S.code).distinct())
    )
    connection.execute(insert(file_units).from_select([c.name for c in U], named))
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE value_load_units")
    _check(connection, report, max_errors, twice=twice)
    report.sort_errors()
    if report.ok and connection.dialect.name == "postgresql":
        # Hold the units this file reports for (see lock_units): every writer of values
        # takes them first, so what is read from now on stays what is stored until commit;
        # a catalogue change waits for them, and the file was checked against the catalogue
        # as it was read before: it must still be so.
        connection.execute(lock_units(select(U.id)))
        elements = select(OptionCombo.element_id).where(
            OptionCombo.id.in_(select(S.combo_id).distinct())
        )
        current = connection.execute(current_elements_in(elements))
        for code in stale_elements(index, [tuple(row) for row in current]):
            report.add_error(
                0,
                f"the catalogue changed while this file was checked ({code}): import again",
                limit=max_errors,
            )
    if report.ok:
        touched = _merge(
            connection,
            report,
            source=source.path.name,
            actor=actor,
            reason=reason,
            rollups=keep_rollups_fresh,
            max_errors=max_errors,
        )
        if touched and keep_rollups_fresh and keep_violations:
            report.violations = len(refresh_violations_sync(connection, index, touched))
        report.written = report.ok and not dry_run
    for table in (staging, file_units):
        table.drop(connection)
    return report


def _index_cells(connection: Connection) -> bool:
    """Index the staged lines by cell, and tell whether some cell is named twice.

    A unique index finds out as it is built: the query for the repeated lines (a pass over
    the whole file) runs only for a file that has some. Lines refused already
    have no cell (NULLs never clash). In this order the unit checks read the index alone,
    without sorting the rows (a unit's claims are grouped by levels).
    """
    cell = "code, levels, combo_id, month_index"
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(
                f"CREATE UNIQUE INDEX ix_value_load_cell ON value_load ({cell}, ok)"
            )
    except IntegrityError:
        connection.exec_driver_sql(
            f"CREATE INDEX ix_value_load_cell ON value_load ({cell}, line, ok)"
        )
        return True
    return False


def _check(connection: Connection, report: ImportReport, max_errors: int, *, twice: bool) -> None:
    """Lines naming a unit that does not exist, does not report the element or was retired
    before the line's period began, and (where some cell is named `twice`) lines repeating
    an earlier line's cell. Each unit is looked up once per set of levels its lines claim,
    not once per line."""
    claims = select(S.code, S.levels).where(S.ok).group_by(S.code, S.levels).subquery()
    wrong = (
        select(claims.c.code, claims.c.levels, U.id, U.level)
        .select_from(claims.outerjoin(file_units, U.code == claims.c.code))
        .where(
            or_(
                U.id.is_(None),
                ~(literal(",") + claims.c.levels).contains(literal(",") + U.level + literal(",")),
            )
        )
        # DISTINCT (the rows are distinct anyway) keeps SQLite from merging this into the
        # outer join, which looked each unit up once per line again.
        .distinct()
        .subquery()
    )
    problems = (
        select(S.line, S.code, wrong.c.id, wrong.c.level)
        .join(wrong, and_(S.code == wrong.c.code, S.levels == wrong.c.levels))
        .where(S.ok)
    )
    for line, code, unit_id, level in connection.execute(problems):
        if unit_id is None:
            reason = f"unknown jurisdiction {code!r}"
        else:
            reason = f"jurisdiction {code} is a {level}, which does not report this element"
        report.add_error(line, reason, limit=max_errors)
    # A retired unit's history stays correctable: only periods begun after it was retired
    # are closed to it. Retired units are few; each is asked for its lines once.
    for code, retired in connection.execute(
        select(U.code, U.valid_to).where(U.valid_to.is_not(None))
    ):
        closed = select(S.line, S.month_index).where(
            S.ok, S.code == code, S.month_index >= first_month_from(retired)
        )
        for line, month_index in connection.execute(closed):
            began = f"{month_index // 12}-{month_index % 12 + 1:02d}"
            report.add_error(
                line,
                f"jurisdiction {code} was retired on {retired}, before the period from {began}",
                limit=max_errors,
            )
    if not twice:
        return
    cell = [S.code, S.levels, S.combo_id, S.month_index]
    repeated = (
        select(*cell, func.min(S.line).label("first"))
        .where(S.ok)
        .group_by(*cell)
        .having(func.count() > 1)
        .subquery()
    )
    duplicates = (
        select(S.line, repeated.c.first)
        .join(
            repeated,
            and_(
                S.code == repeated.c.code,
                S.levels == repeated.c.levels,
                S.combo_id == repeated.c.combo_id,
                S.month_index == repeated.c.month_index,
                S.line > repeated.c.first,
            ),
        )
        .where(S.ok)
    )
    for line, first in connection.execute(duplicates):
        report.add_error(line, f"the same value as line {first}", limit=max_errors)


def _merge(
    connection: Connection,
    report: ImportReport,
    *,
    source: str,
    actor: str,
    reason: str,
    rollups: bool,
    max_errors: int,
) -> list[tuple[int, int]]:
    """Write the file's changes; the (unit, month) cells whose values changed."""
    now = dt.datetime.now(dt.UTC)
    stored = cast(Table, DataValue.__table__).alias("stored")
    staged = staging.join(file_units, U.code == S.code)
    same_cell = and_(
        stored.c.jurisdiction_id == U.id,
        stored.c.combo_id == S.combo_id,
        stored.c.month_index == S.month_index,
    )
    dialect = connection.dialect.name
    # Every value that changes, with what is stored now: worked out once, read by the
    # audit, the writes and the store alike.
    found: FromClause = stored
    joined = staged.outerjoin(stored, same_cell)
    if dialect == "postgresql":
        # A seek per cell: PostgreSQL merged the file with all of data_values' index
        # instead, a cost growing with the table rather than the file (docs/benchmarks.md).
        # SQLite seeks, and has no LATERAL.
        found = select(stored.c.id, stored.c.value).where(same_cell).limit(1).lateral("found")
        joined = staged.outerjoin(found, true())
    changed = (
        select(
            *(U.id, S.combo_id, S.month_index, found.c.value, S.value, found.c.id, S.line),
            *(U.level, U.parent_id),
        )
        .select_from(joined)
        .where(or_(found.c.id.is_(None), found.c.value != S.value))
    )
    connection.execute(cells_from(changed))
    if _locked(connection, report, max_errors):
        _run(connection, clear_statements())
        return []
    counts = connection.execute(select(func.count(D.stored_id), func.count())).one()
    report.updated, total_changed = int(counts[0]), int(counts[1])
    report.inserted = total_changed - report.updated
    report.unchanged = report.rows - total_changed
    touched = [
        (int(unit_id), int(month))
        for unit_id, month in connection.execute(select(D.unit_id, D.month_index).distinct())
    ]
    if total_changed and rollups:
        _run(connection, BEFORE)
    if total_changed:
        _write(connection, report, now=now, source=source, actor=actor, reason=reason)
    if total_changed and rollups:
        _run(connection, [*AFTER, *apply_statements(dialect)])
    else:
        _run(connection, clear_statements())
    return touched


def _locked(connection: Connection, report: ImportReport, max_errors: int) -> bool:
    """An error for each line whose value approvals lock (see indicators.reporting.locks);
    one look at the approvals of the file's months when none is active."""
    first, last = connection.execute(written_months()).one()
    if first is None or connection.execute(approvals_between(first, last)).first() is None:
        return False
    statement = locks_of(written_cells(), now=dt.datetime.now(dt.UTC), limit=max_errors)
    for lock in as_locks(connection.execute(statement)):
        report.add_error(lock.line or 0, lock.message, limit=max_errors)
    report.sort_errors()
    return not report.ok


def _write(
    connection: Connection,
    report: ImportReport,
    *,
    now: dt.datetime,
    source: str,
    actor: str,
    reason: str,
) -> None:
    opened = open_change_set(
        at=now, actor_subject_id=None, actor=actor, reason=reason, source=f"import {source}"
    )
    change_set = connection.execute(opened).scalar_one()
    names = [
        "change_set_id",
        "jurisdiction_id",
        "combo_id",
        "month_index",
        "old_value",
        "new_value",
        "line",
    ]
    rows = select(literal(change_set), D.unit_id, D.combo_id, D.month_index, D.old, D.new, D.line)
    connection.execute(insert(ValueChange).from_select(names, rows))
    # Skipped when empty: PostgreSQL would still scan data_values to update nothing.
    if report.updated:
        connection.execute(
            update(DATA_VALUES).where(V.id == D.stored_id).values(value=D.new, updated_at=now)
        )
    if report.inserted:
        connection.execute(
            insert(DataValue).from_select(
                ["jurisdiction_id", "combo_id", "month_index", "value", "updated_at"],
                select(D.unit_id, D.combo_id, D.month_index, D.new, literal(now)).where(
                    D.stored_id.is_(None)
                ),
            )
        )


def _run(connection: Connection, statements: Iterable[Executable]) -> None:
    for statement in statements:
        connection.execute(statement)
