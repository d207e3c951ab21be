"""Importing values from CSV, DHIS2 dataValueSets JSON and ADX: streamed through a staging
table, checked, merged set-based.

The files' formats and their rows are indicators/value_files.py's. The whole file is one
transaction: every bad row is reported by its position (a CSV's or an ADX document's line,
a data value's index in dataValues) and nothing is written, or every row is upserted, each
change audited with the file's name and the row's position. Re-importing the same file
changes nothing.

The work is written once as steps (the statements in order, as in
indicators/validation/steps.py) and run on a command's connection (`import_values`) or on a
request's session (`import_values_async`, which also refuses every row outside the
caller's scope). Two steps differ by runner: appending the staged rows (COPY or executemany
on a connection; batched INSERTs on a session) and indexing them by cell.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    CursorResult,
    Date,
    Executable,
    Integer,
    MetaData,
    Numeric,
    Result,
    Table,
    Text,
    and_,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql import FromClause

from core.db.base import binary_string
from core.db.bulk import append_rows
from core.db.session import RequestSession
from core.files.report import FileReport
from core.files.textfiles import TextSource
from indicators.audit import Author, open_change_set
from indicators.catalogue_index import (
    CatalogueIndex,
    ElementInfo,
    current_elements_in,
    stale_elements,
)
from indicators.feed.clock import stamp_statements
from indicators.models import DataValue, OptionCombo, ValueChange
from indicators.periods import Period, PeriodError, first_month_from
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
from indicators.telemetry import count_imported, upkeep_phase
from indicators.validation.refresh import refresh_steps
from indicators.value_files import SPELLINGS, Spelling, ValueFormat, period_reader, records
from tenancy.models import Jurisdiction
from tenancy.scope import Scope, unscoped

PROGRESS_EVERY = 20_000
# Rows per INSERT when a request's session stages a file (7 parameters a row: well below
# SQLite's and PostgreSQL's limits on parameters per statement).
SESSION_BATCH = 1000
# Spellings of a disaggregation remembered per file (a file repeats a handful of them).
_COMBO_MEMORY = 10_000
_UNITS_LOOKED_UP = (
    "the file's units by code: the tree's codes are public, and rows outside the caller's "
    "scope are refused by name before anything stored is read"
)
_CHECKED = "the file's units, checked against the caller's scope"

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
    # For the caller's scope, on a request (a path range per subtree).
    Column("path", Text, nullable=False),
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
    # What error positions count: "line" (CSV, ADX) or "dataValue" (a dataValueSets
    # file's index in dataValues, kept plus one so that 0 stays the whole file).
    positions: str = "line"

    def position(self, number: int) -> str:
        """A row's position as a person reads it: `line 8`, `dataValues[6]`."""
        if self.positions == "dataValue":
            return f"dataValues[{number - 1}]" if number else "the file"
        return f"line {number}"

    def as_dict(self) -> dict[str, Any]:
        shown = self.errors_dict()
        if self.positions == "dataValue":
            shown["errors"] = [
                {"dataValue": e.line - 1, "reason": e.reason} if e.line else {"reason": e.reason}
                for e in self.errors
            ]
        return {
            **shown,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "violations": self.violations,
        }


@dataclass(frozen=True, slots=True)
class _Append:
    """Append the rows to the table: by the runner's fastest means."""

    table: Table
    rows: Iterator[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class _IndexCells:
    """Index the staged rows by cell; the runner answers whether some cell is named twice."""


_Step = Executable | _Append | _IndexCells
_Steps = Generator[_Step, Sequence[Any], Any]


def _reported(element: ElementInfo, period: Period) -> None:
    """PeriodError unless values of the element are reported for periods like this one."""
    if period.statistical:
        raise PeriodError(
            f"{period} is a statistical year, which figures are read for, never reported "
            f"for: {element.code} is reported by {element.period_type.value}"
        )
    if period.type is not element.period_type:
        raise PeriodError(
            f"{element.code} is reported by {element.period_type.value}, not by {period.type.value}"
        )


def _staged(
    source: TextSource,
    *,
    value_format: ValueFormat,
    index: CatalogueIndex,
    report: ImportReport,
    max_errors: int,
    on_progress: Callable[[int], None] | None,
) -> Iterator[tuple[object, ...]]:
    spelling = SPELLINGS[value_format]
    read_period = period_reader(value_format, index)
    reporting: dict[str, str] = {}  # element → its levels as ",county,township,"
    periods: dict[str, Period] = {}
    combos: dict[tuple[ElementInfo, str], int] = {}
    with source.open() as text:
        for position, fields, problem in records(text, value_format):
            report.rows += 1
            if on_progress is not None and report.rows % PROGRESS_EVERY == 0:
                on_progress(source.bytes_read)
            if fields is None:
                report.add_error(position, problem, limit=max_errors)
                continue
            code, element_code, period_text, value_text, disaggregation = fields
            field = spelling.element
            try:
                element = index.element(element_code)
                field = spelling.period
                period = periods.get(period_text)
                if period is None:
                    period = periods[period_text] = read_period(period_text)
                _reported(element, period)
                field = spelling.disaggregation
                combo_id = combos.get((element, disaggregation))
                if combo_id is None:
                    combo_id = element.combos[element.combo_key(disaggregation)]
                    if len(combos) < _COMBO_MEMORY:
                        combos[element, disaggregation] = combo_id
                field = spelling.value
                try:
                    value = float(value_text)
                except ValueError:
                    raise ValueError(f"value {value_text!r} is not a number") from None
                element.check_value(value)
            except (ValueError, PeriodError) as error:
                report.add_error(position, field + str(error), limit=max_errors)
                yield (position, code, None, None, None, "", False)
                continue
            levels = reporting.get(element.code)
            if levels is None:
                names = sorted(level.value for level in element.reported_at)
                levels = reporting[element.code] = "," + ",".join(names) + ","
            yield (position, code, combo_id, period.month_index, value, levels, True)
    if on_progress is not None:
        on_progress(source.size)


def import_values(
    connection: Connection,
    source: TextSource,
    *,
    index: CatalogueIndex,
    actor: str,
    reason: str,
    value_format: ValueFormat | None = None,
    dry_run: bool = False,
    max_errors: int = 1000,
    on_progress: Callable[[int], None] | None = None,
    keep_rollups_fresh: bool = True,
    keep_violations: bool = True,
) -> ImportReport:
    """Check and merge a values file inside the caller's transaction (the caller commits).

    The format is the file name's (ValueFormat.of_file) unless given. A file that cannot
    be read at all raises CsvFileError (core/files/value_records.ValuesFileError for the
    other formats).

    keep_rollups_fresh=False exists only to measure what keeping the store costs, in a
    transaction that is rolled back: committed, it would leave the roll-ups stale; so does
    keep_violations=False for the validation violations (which are read from the store, and
    refreshed only with it).
    """
    steps = _import(
        source,
        value_format or ValueFormat.of_file(source.path.name),
        file_name=None,
        index=index,
        dialect=connection.dialect.name,
        author=Author(None, actor),
        reason=reason,
        scope=None,
        dry_run=dry_run,
        max_errors=max_errors,
        on_progress=on_progress,
        rollups=keep_rollups_fresh,
        violations=keep_violations,
    )
    try:
        step = next(steps)
        while True:
            if isinstance(step, _Append):
                answer: Sequence[Any] = [(append_rows(connection, step.table, step.rows),)]
            elif isinstance(step, _IndexCells):
                answer = [(_index_cells(connection),)]
            else:
                answer = _rows(connection.execute(step))
            step = steps.send(answer)
    except StopIteration as done:
        return _counted(cast(ImportReport, done.value))
    finally:
        # A step that failed leaves the steps inside an upkeep phase's span: end it here,
        # where it began, not whenever the generator is collected.
        steps.close()


async def import_values_async(
    session: RequestSession,
    source: TextSource,
    *,
    index: CatalogueIndex,
    author: Author,
    scope: Scope,
    reason: str,
    value_format: ValueFormat,
    file_name: str | None = None,
    dry_run: bool = False,
    max_errors: int = 1000,
) -> ImportReport:
    """The same on a request's session, for the caller's scope: every row of a unit outside
    it is refused by its position. The session must have begun writing (on SQLite, the
    write lock is taken before the first staged row). The file is read in a worker thread,
    a batch at a time, so that the server goes on answering meanwhile. The audit names the
    file by `file_name` (an uploaded file's own), else by the source's."""
    steps = _import(
        source,
        value_format,
        file_name=file_name,
        index=index,
        dialect=session.dialect,
        author=author,
        reason=reason,
        scope=scope,
        dry_run=dry_run,
        max_errors=max_errors,
        on_progress=None,
        rollups=True,
        violations=True,
    )
    try:
        step = next(steps)
        while True:
            if isinstance(step, _Append):
                answer: Sequence[Any] = [(await _append_batches(session, step),)]
            elif isinstance(step, _IndexCells):
                twice = bool(await session.rows(_REPEATED_CELL))
                await session.execute(text(_cell_index(unique=not twice)))
                answer = [(twice,)]
            else:
                answer = _rows(await session.execute(step))
            step = steps.send(answer)
    except StopIteration as done:
        return _counted(cast(ImportReport, done.value))
    finally:
        steps.close()


def _counted(report: ImportReport) -> ImportReport:
    count_imported(
        report, inserted=report.inserted, updated=report.updated, unchanged=report.unchanged
    )
    return report


async def _append_batches(session: RequestSession, step: _Append) -> int:
    count = 0
    while batch := await asyncio.to_thread(_batch, step.rows):
        await session.execute(insert(step.table).values(batch))
        count += len(batch)
    return count


def _batch(rows: Iterator[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return list(islice(rows, SESSION_BATCH))


def _each(statements: Iterable[Executable]) -> Generator[Executable, Sequence[Any], None]:
    """Statements run in order, whatever they return (`yield from` a list would fail on
    the rows the runner sends back)."""
    for statement in statements:  # noqa: UP028
        yield statement


def _rows(result: Result[Any]) -> Sequence[Any]:
    """What a statement returned: its rows, or none for a write without RETURNING."""
    if isinstance(result, CursorResult) and not result.returns_rows:
        return []
    return result.all()


def _import(
    source: TextSource,
    value_format: ValueFormat,
    *,
    file_name: str | None,
    index: CatalogueIndex,
    dialect: str,
    author: Author,
    reason: str,
    scope: Scope | None,
    dry_run: bool,
    max_errors: int,
    on_progress: Callable[[int], None] | None,
    rollups: bool,
    violations: bool,
) -> _Steps:
    """The import's steps; returns its report."""
    spelling = SPELLINGS[value_format]
    report = ImportReport(positions=spelling.positions)
    for table in (staging, file_units):
        yield DropTable(table, if_exists=True)
        yield CreateTable(table)
    yield from _each(create_statements(dialect))
    yield _Append(
        staging,
        _staged(
            source,
            value_format=value_format,
            index=index,
            report=report,
            max_errors=max_errors,
            on_progress=on_progress,
        ),
    )
    twice = bool((yield _IndexCells())[0][0])
    if dialect == "postgresql":
        # Autovacuum never sees temporary tables: without statistics the planner took the
        # file for a few rows, and hashed every jurisdiction to check them.
        yield text("ANALYZE value_load")
    named = select(J.code, J.id, J.level, J.parent_id, J.valid_to, J.path).where(
        J.code.in_(select(S.code).distinct())
    )
    filled = insert(file_units).from_select([c.name for c in U], named)
    yield unscoped(filled, why=_UNITS_LOOKED_UP)
    if dialect == "postgresql":
        yield text("ANALYZE value_load_units")
    if scope is not None:
        yield from _outside(scope, report, max_errors, spelling)
    yield from _check(report, max_errors, twice=twice, spelling=spelling)
    report.sort_errors()
    if report.ok and dialect == "postgresql":
        # Hold the units this file reports for (see lock_units): every writer of values
        # takes them first, so what is read from now on stays what is stored until commit;
        # a catalogue change waits for them, and the file was checked against the catalogue
        # as it was read before: it must still be so.
        yield unscoped(lock_units(select(U.id)), why=_CHECKED)
        elements = select(OptionCombo.element_id).where(
            OptionCombo.id.in_(select(S.combo_id).distinct())
        )
        current = yield current_elements_in(elements)
        for code in stale_elements(index, [tuple(row) for row in current]):
            report.add_error(
                0,
                f"the catalogue changed while this file was checked ({code}): import again",
                limit=max_errors,
            )
    change_set: int | None = None
    if report.ok:
        touched, change_set = yield from _merge(
            report,
            dialect=dialect,
            source=file_name or source.path.name,
            author=author,
            reason=reason,
            rollups=rollups,
            max_errors=max_errors,
            audit_offset=spelling.audit_offset,
        )
        if touched and rollups and violations:
            refreshed = yield from refresh_steps(index, touched, dialect=dialect)
            report.violations = len(refreshed.open)
        report.written = report.ok and not dry_run
    for table in (staging, file_units):
        yield DropTable(table)
    if change_set is not None and report.written:
        # Last: the feed's clock stays locked from here to the commit.
        yield from _each(stamp_statements(change_set))
    return report


def _cell_index(*, unique: bool) -> str:
    """In this order the unit checks read the index alone, without sorting the rows (a
    unit's claims are grouped by levels). Lines refused already have no cell (NULLs never
    clash)."""
    cell = "code, levels, combo_id, month_index"
    if unique:
        return f"CREATE UNIQUE INDEX ix_value_load_cell ON value_load ({cell}, ok)"
    return f"CREATE INDEX ix_value_load_cell ON value_load ({cell}, line, ok)"


# Some cell named by two rows: a pass over the staged rows.
_REPEATED_CELL = (
    select(S.code)
    .where(S.ok)
    .group_by(S.code, S.levels, S.combo_id, S.month_index)
    .having(func.count() > 1)
    .limit(1)
)


def _index_cells(connection: Connection) -> bool:
    """Index the staged lines by cell, and tell whether some cell is named twice.

    A unique index finds out as it is built: the query for the repeated lines (a pass over
    the whole file) runs only for a file that has some.
    """
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(_cell_index(unique=True))
    except IntegrityError:
        connection.exec_driver_sql(_cell_index(unique=False))
        return True
    return False


def _outside(
    scope: Scope, report: ImportReport, max_errors: int, spelling: Spelling
) -> Generator[Executable, Sequence[Any], None]:
    """Rows of units outside the caller's scope: all of them counted, the first listed."""
    outside = select(S.line, S.code).join(file_units, U.code == S.code).where(~scope.covers(U.path))
    total = int((yield select(func.count()).select_from(outside.subquery()))[0][0])
    if not total:
        return
    listed = yield outside.order_by(S.line).limit(max_errors)
    for line, code in listed:
        report.add_error(
            line,
            f"{spelling.unit}jurisdiction {code} is outside what you may report for",
            limit=max_errors,
        )
    report.error_count += total - len(listed)


def _check(
    report: ImportReport, max_errors: int, *, twice: bool, spelling: Spelling
) -> Generator[Executable, Sequence[Any], None]:
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
    for line, code, unit_id, level in (yield problems):
        if unit_id is None:
            reason = f"unknown jurisdiction {code!r}"
        else:
            reason = f"jurisdiction {code} is a {level}, which does not report this element"
        report.add_error(line, spelling.unit + reason, limit=max_errors)
    # A retired unit's history stays correctable: only periods begun after it was retired
    # are closed to it. Retired units are few; each is asked for its lines once.
    retired_units = yield select(U.code, U.valid_to).where(U.valid_to.is_not(None))
    for code, retired in retired_units:
        closed = select(S.line, S.month_index).where(
            S.ok, S.code == code, S.month_index >= first_month_from(retired)
        )
        for line, month_index in (yield closed):
            began = f"{month_index // 12}-{month_index % 12 + 1:02d}"
            report.add_error(
                line,
                f"{spelling.unit}jurisdiction {code} was retired on {retired}, before the "
                f"period from {began}",
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
    for line, first in (yield duplicates):
        report.add_error(line, f"the same value as {report.position(first)}", limit=max_errors)


def _merge(
    report: ImportReport,
    *,
    dialect: str,
    source: str,
    author: Author,
    reason: str,
    rollups: bool,
    max_errors: int,
    audit_offset: int,
) -> Generator[Executable, Sequence[Any], tuple[list[tuple[int, int]], int | None]]:
    """Write the file's changes; the (unit, month) cells whose values changed, and the
    change set (None when nothing changed or a lock refused the file)."""
    now = dt.datetime.now(dt.UTC)
    stored = cast(Table, DataValue.__table__).alias("stored")
    staged = staging.join(file_units, U.code == S.code)
    same_cell = and_(
        stored.c.jurisdiction_id == U.id,
        stored.c.combo_id == S.combo_id,
        stored.c.month_index == S.month_index,
    )
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
    yield cells_from(changed)
    if (yield from _locked(report, max_errors)):
        yield from _each(clear_statements())
        return [], None
    counts = (yield select(func.count(D.stored_id), func.count()))[0]
    report.updated, total_changed = int(counts[0]), int(counts[1])
    report.inserted = total_changed - report.updated
    report.unchanged = report.rows - total_changed
    touched = [
        (int(unit_id), int(month))
        for unit_id, month in (yield select(D.unit_id, D.month_index).distinct())
    ]
    change_set: int | None = None
    if total_changed and rollups:
        with upkeep_phase("before"):
            yield from _each(BEFORE)
    if total_changed:
        change_set = yield from _write(
            report,
            now=now,
            source=source,
            author=author,
            reason=reason,
            audit_offset=audit_offset,
        )
    if total_changed and rollups:
        with upkeep_phase("after"):
            yield from _each([*AFTER, *apply_statements(dialect)])
    else:
        yield from _each(clear_statements())
    return touched, change_set


def _locked(report: ImportReport, max_errors: int) -> Generator[Executable, Sequence[Any], bool]:
    """An error for each line whose value approvals lock (see indicators.reporting.locks);
    one look at the approvals of the file's months when none is active."""
    first, last = (yield written_months())[0]
    if first is None or not (yield approvals_between(first, last)):
        return False
    statement = locks_of(written_cells(), now=dt.datetime.now(dt.UTC), limit=max_errors)
    for lock in as_locks((yield statement)):
        report.add_error(lock.line or 0, lock.message, limit=max_errors)
    report.sort_errors()
    return not report.ok


def _write(
    report: ImportReport,
    *,
    now: dt.datetime,
    source: str,
    author: Author,
    reason: str,
    audit_offset: int,
) -> Generator[Executable, Sequence[Any], int]:
    """Write the changes and audit them; returns the change set."""
    opened = open_change_set(
        at=now,
        actor_subject_id=author.subject_id,
        actor=author.label,
        reason=reason,
        source=f"import {source}",
        token_id=author.token_id,
        issuer=author.issuer,
    )
    change_set = int((yield opened)[0][0])
    names = [
        "change_set_id",
        "jurisdiction_id",
        "combo_id",
        "month_index",
        "old_value",
        "new_value",
        "line",
    ]
    line = D.line - audit_offset if audit_offset else D.line
    rows = select(literal(change_set), D.unit_id, D.combo_id, D.month_index, D.old, D.new, line)
    yield insert(ValueChange).from_select(names, rows)
    # Skipped when empty: PostgreSQL would still scan data_values to update nothing.
    if report.updated:
        changing = (
            update(DATA_VALUES).where(V.id == D.stored_id).values(value=D.new, updated_at=now)
        )
        yield unscoped(changing, why=_CHECKED)
    if report.inserted:
        yield insert(DataValue).from_select(
            ["jurisdiction_id", "combo_id", "month_index", "value", "updated_at"],
            select(D.unit_id, D.combo_id, D.month_index, D.new, literal(now)).where(
                D.stored_id.is_(None)
            ),
        )
    return change_set
