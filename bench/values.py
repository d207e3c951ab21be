"""Benchmark: importing one province-year of village reports, beside a bare bulk INSERT.

    .venv/bin/python bench/values.py [--backend sqlite|postgresql] [--province 13] [--years 1]

Loads the national tree and the default catalogue into a fresh database, writes the synthetic
reports of every village of the province (bench/generate.py's generator), then measures:
- a bare bulk INSERT of the same rows into data_values (the same file read, codes and options
  looked up in memory, no checks, no audit; rolled back afterwards);
- `quhua values import` of the file as a user runs it (staging, checks, set-based upsert with
  an audit row per value), with the peak RSS of that process;
and prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, MetaData, Table, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import villages_of
from core.db.bulk import append_rows
from core.db.engine import sync_engine
from core.files.csvfile import read_csv
from core.files.textfiles import TextSource
from indicators.catalogue_index import catalogue_index_sync
from indicators.models import DataValue
from quhua.demo import DEFAULT_CATALOGUE, NATIONAL_TREE, shipped_data
from quhua.synthetic import generate, write_csv
from tenancy.models import Jurisdiction
from tests.cli import quhua
from tests.databases import fresh_database, load_tree, upgrade

COLUMNS = ("jurisdiction", "element", "period", "value", "disaggregation")


def bare_insert(url: str, path: Path, *, statement: bool = False) -> tuple[int, float]:
    """Rows and seconds for reading the file and appending its rows, unchecked, then undoing:
    by the database's fastest bulk load (COPY on PostgreSQL, executemany on SQLite), or
    with `statement` by an INSERT the driver runs for every row (executemany, pipelined by
    psycopg; for a Ningxia month of 73,085 rows 1.9 s, against 2.5 s for SQLAlchemy's
    batched multi-row VALUES and 1.2 s for COPY)."""
    engine = sync_engine(url)
    now = dt.datetime.now(dt.UTC)
    with engine.connect() as connection:
        transaction = connection.begin()
        index = catalogue_index_sync(connection)
        units = {
            code: unit_id
            for code, unit_id in connection.execute(select(Jurisdiction.code, Jurisdiction.id))
        }
        start = time.perf_counter()

        def rows() -> object:
            with TextSource(path).open() as text:
                for row in read_csv(text, COLUMNS):
                    assert row.fields is not None
                    code, element, period, value, cell = row.fields
                    info = index.elements[element]
                    yield (
                        units[code],
                        info.combos[info.combo_key(cell)],
                        info.period(period).month_index,
                        float(value),
                        now,
                    )

        table = _value_columns(cast(Table, DataValue.__table__))
        load = _execute_many if statement else append_rows
        count = load(connection, table, rows())  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
        transaction.rollback()
    engine.dispose()
    return count, seconds


def _execute_many(connection: Connection, table: Table, rows: Iterable[Sequence[Any]]) -> int:
    names = [column.name for column in table.columns]
    marks = ", ".join(["?" if connection.dialect.name == "sqlite" else "%s"] * len(names))
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    count = 0
    iterator = iter(rows)
    while batch := list(islice(iterator, 5000)):
        cursor.executemany(statement, batch)
        count += len(batch)
    cursor.close()
    return count


def _value_columns(table: Table) -> Table:
    """data_values without its id column, so that the database numbers the rows."""
    copy = Table(table.name, MetaData())
    for name in ("jurisdiction_id", "combo_id", "month_index", "value", "updated_at"):
        copy.append_column(table.c[name]._copy())
    return copy


def product_import(url: str, path: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "quhua",
            "values",
            "import",
            str(path),
            "--json",
            "--database-url",
            url,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return seconds, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--province", default="13")
    parser.add_argument("--years", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.backend, Path(folder)) as url:
        upgrade(url)
        load_tree(url, NATIONAL_TREE)
        assert (
            quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url).exit_code == 0
        )
        codes = villages_of(args.province)
        path = Path(folder) / "values.csv.gz"
        start = time.perf_counter()
        rows = write_csv(generate(codes, first_year=2024, years=args.years, seed=2023), path)
        print(
            f"backend {args.backend}: province {args.province}, {len(codes):,} villages, "
            f"{args.years * 12} months: {rows:,} values generated in "
            f"{time.perf_counter() - start:.1f} s"
        )
        count, bare_seconds = bare_insert(url, path)
        assert count == rows
        print(f"bare bulk INSERT: {rows / bare_seconds:,.0f} values/s ({bare_seconds:.1f} s)")
        seconds, peak = product_import(url, path)
        print(
            f"quhua values import: {rows / seconds:,.0f} values/s ({seconds:.1f} s), "
            f"peak RSS {peak:.0f} MiB"
        )
        print(f"ratio import / bare INSERT: {(rows / seconds) / (rows / bare_seconds):.2f}")


if __name__ == "__main__":
    main()
