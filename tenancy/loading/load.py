"""Loading a division tree into the database: validated as a whole, then merged set-based.

The file is streamed into a temporary staging table (bounded memory whatever its size), every
check that involves other rows is one SQL statement over that table, and the merge inserts
new units level by level so that each unit's path is built from its parent's in SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import cast

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.sql import Select

from core.db.base import binary_string
from core.db.bulk import append_rows
from core.files.textfiles import TextSource
from tenancy.levels import Level
from tenancy.loading.report import LoadReport
from tenancy.loading.rows import read_rows
from tenancy.models import Jurisdiction
from tenancy.paths import SEPARATOR, strictly_within
from tenancy.sizes import count_subtrees

PROGRESS_EVERY = 20_000
MISSING_SAMPLE = 20

# Not part of the application's metadata: a per-transaction table that no migration owns.
_staging_metadata = MetaData()
staging = Table(
    "division_load",
    _staging_metadata,
    Column("line", Integer, nullable=False),
    Column("code", binary_string(40)),
    Column("name", Text),
    Column("level", Text),
    Column("parent_code", binary_string(40)),
    Column("ok", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
S = staging.c
JURISDICTIONS = cast(Table, Jurisdiction.__table__)
J = JURISDICTIONS.c


def load_divisions(
    connection: Connection,
    source: TextSource,
    *,
    valid_from: dt.date,
    retire_missing: bool = False,
    dry_run: bool = False,
    max_errors: int = 1000,
    on_progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Validate a division file and merge it into the tree, inside the caller's transaction.

    Nothing is written when any row is bad or when dry_run is set; the caller commits.
    """
    report = LoadReport()
    staging.drop(connection, checkfirst=True)
    staging.create(connection)
    # On an exception the caller rolls back, which takes the staging table with it.
    _stage(connection, source, report, max_errors=max_errors, on_progress=on_progress)
    _index_staging(connection)
    _check_relations(connection, report, max_errors)
    if report.ok:
        _plan(connection, report)
        if retire_missing:
            _check_retirement(connection, report, valid_from, max_errors)
    report.sort_errors()
    if report.ok and not dry_run:
        _merge(connection, report, valid_from=valid_from, retire_missing=retire_missing)
        if report.inserted:
            # Planner statistics taken before a bulk load mislead it (PostgreSQL picked
            # full scans for subtree joins on the national tree until analysed).
            connection.exec_driver_sql("ANALYZE jurisdictions")
        if report.inserted or report.retired or report.restored:
            count_subtrees(connection)
        report.written = True
    staging.drop(connection)
    return report


def _stage(
    connection: Connection,
    source: TextSource,
    report: LoadReport,
    *,
    max_errors: int,
    on_progress: Callable[[int], None] | None,
) -> None:
    with source.open() as text:

        def staged() -> Iterator[tuple[object, ...]]:
            for row in read_rows(text):
                report.rows += 1
                for problem in row.problems:
                    report.add_error(row.line, problem, code=row.code, limit=max_errors)
                if on_progress is not None and report.rows % PROGRESS_EVERY == 0:
                    on_progress(source.bytes_read)
                yield (
                    row.line,
                    row.code,
                    row.name,
                    row.level.value if row.level else None,
                    row.parent_code,
                    not row.problems,
                )

        append_rows(connection, staging, staged())
    if on_progress is not None:
        on_progress(source.size)


def _index_staging(connection: Connection) -> None:
    connection.exec_driver_sql("CREATE INDEX ix_division_load_code ON division_load (code)")
    connection.exec_driver_sql(
        "CREATE INDEX ix_division_load_parent_code ON division_load (parent_code)"
    )


def _check_relations(connection: Connection, report: LoadReport, max_errors: int) -> None:
    earlier = staging.alias("earlier")
    duplicates = (
        select(S.line, S.code, func.min(earlier.c.line))
        .join(earlier, and_(earlier.c.code == S.code, earlier.c.line < S.line))
        .where(S.code != "")
        .group_by(S.line, S.code)
    )
    for line, code, first in connection.execute(duplicates):
        report.add_error(
            line, f"duplicate code {code} (first at line {first})", code=code, limit=max_errors
        )

    parent = JURISDICTIONS.alias("parent")
    orphans = (
        select(S.line, S.code, S.parent_code, parent.c.valid_to)
        .select_from(staging.outerjoin(parent, parent.c.code == S.parent_code))
        .where(
            S.ok,
            S.parent_code.is_not(None),
            ~exists().where(earlier.c.code == S.parent_code),
            or_(parent.c.id.is_(None), parent.c.valid_to.is_not(None)),
        )
    )
    for line, code, parent_code, retired_on in connection.execute(orphans):
        if retired_on is None:
            reason = f"missing parent: {parent_code} is neither in the file nor in the database"
        else:
            reason = f"parent {parent_code} was retired on {retired_on.isoformat()}"
        report.add_error(line, reason, code=code, limit=max_errors)


def _missing() -> Select[int, str]:
    """Current units below the file's top units that the file does not list."""
    in_file = staging.alias("in_file")
    top = (
        select(J.path)
        .join(staging, S.code == J.code)
        .where(or_(S.parent_code.is_(None), ~exists().where(in_file.c.code == S.parent_code)))
        .subquery("top")
    )
    unit = JURISDICTIONS.alias("unit")
    return (
        select(unit.c.id, unit.c.code)
        .join(top, strictly_within(unit.c.path, top.c.path))
        .where(unit.c.valid_to.is_(None), ~exists().where(in_file.c.code == unit.c.code))
    )


def _check_retirement(
    connection: Connection, report: LoadReport, valid_from: dt.date, max_errors: int
) -> None:
    missing = _missing().subquery("missing")
    too_young = (
        select(J.code, J.valid_from)
        .join(missing, missing.c.id == J.id)
        .where(J.valid_from > valid_from)
        .order_by(J.code)
    )
    for code, since in connection.execute(too_young):
        reason = (
            f"cannot retire {code} on {valid_from.isoformat()}: it exists only from "
            f"{since.isoformat()} (give a later --valid-from)"
        )
        report.add_error(0, reason, code=code, limit=max_errors)


def _plan(connection: Connection, report: LoadReport) -> None:
    known = staging.join(JURISDICTIONS, J.code == S.code)
    counts = connection.execute(
        select(
            func.count(),
            func.count().filter(J.name != S.name),
            func.count().filter(J.valid_to.is_not(None)),
        ).select_from(known)
    ).one()
    existing, report.renamed, report.restored = counts
    report.inserted = report.rows - existing
    report.unchanged = connection.execute(
        select(func.count()).select_from(known).where(J.name == S.name, J.valid_to.is_(None))
    ).scalar_one()
    missing = _missing().subquery("missing")
    report.missing = connection.execute(select(func.count()).select_from(missing)).scalar_one()
    report.missing_sample = list(
        connection.execute(
            select(missing.c.code).order_by(missing.c.code).limit(MISSING_SAMPLE)
        ).scalars()
    )


def _merge(
    connection: Connection, report: LoadReport, *, valid_from: dt.date, retire_missing: bool
) -> None:
    if retire_missing and report.missing:
        missing_ids = select(_missing().subquery("missing").c.id)
        report.retired = connection.execute(
            update(JURISDICTIONS).where(J.id.in_(missing_ids)).values(valid_to=valid_from)
        ).rowcount
    parent = JURISDICTIONS.alias("parent")
    columns = ["code", "name", "level", "parent_id", "path", "valid_from"]
    is_new = ~exists().where(J.code == S.code)
    for level in Level:
        if level is Level.PROVINCE:
            rows = select(S.code, S.name, S.level, null(), S.code + SEPARATOR, literal(valid_from))
        else:
            rows = select(
                S.code,
                S.name,
                S.level,
                parent.c.id,
                parent.c.path + S.code + SEPARATOR,
                literal(valid_from),
            ).join(parent, parent.c.code == S.parent_code)
        connection.execute(
            insert(JURISDICTIONS).from_select(
                columns, rows.where(S.level == level.value, is_new).order_by(S.code)
            )
        )
    listed = select(S.name).where(S.code == J.code).scalar_subquery()
    if report.renamed:
        connection.execute(
            update(JURISDICTIONS)
            .where(exists().where(S.code == J.code, S.name != J.name))
            .values(name=listed)
        )
    if report.restored:
        connection.execute(
            update(JURISDICTIONS)
            .where(J.valid_to.is_not(None), exists().where(S.code == J.code))
            .values(valid_to=None)
        )
