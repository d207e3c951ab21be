"""Benchmark: streaming exports beside a bare dump of the same rows, and their peak memory.

    .venv/bin/python bench/export.py [--backend sqlite|postgresql] [--keep DIR] [--runs 3]

Builds (or, with --keep DIR, reuses) a database with the Ningxia tree (64), the default
catalogue and one year (2024) of the generator's monthly reports for every village,
imported by `quhua values import`. Then, each in a process of its own (its peak RSS read
from wait4), through the ASGI app as a provincial administrator:
- (a) the county-level aggregates of 64 for each month of 2024: every element
  disaggregated (the rows the store keeps), and every element and indicator;
- (b) every stored value under 64 whose month lies in 2024 (the villages' reports);
in each format (plain, not gzip; CSV once more with gzip, and once more as the second
request of its process: a server that has answered before), beside a bare dump of the same
rows from the same database: `COPY (SELECT …) TO STDOUT WITH CSV` on PostgreSQL, Python's
sqlite3 and csv writer on SQLite (and the sqlite3 shell's `-csv`), as ratios of rows/s.
Peak RSS at 1x and 10x rows: values of 2024-01 (1x) and of 2024-01 … 2024-10 (10x);
township-level aggregates are about 11x the county-level ones.
Medians of --runs runs; the export reads the stream to its end, counting rows.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import gc
import io
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.testclient import TestClient

from bench.values import product_import
from core.db.engine import async_engine, sync_engine
from core.db.session import RequestSession
from core.files.textfiles import TextSource
from indicators.catalogue_index import catalogue_index_sync
from quhua.app import create_app
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from quhua.exports.formats import ValueShapes, writer_for
from quhua.exports.operator import operator_context
from quhua.exports.streaming import ExportBody, encoded
from quhua.exports.values import ValueExport, ValuesAsked
from quhua.settings import Settings
from quhua.synthetic import generate, write_csv
from tenancy.levels import Level
from tenancy.loading.rows import read_rows
from tests.cli import quhua
from tests.databases import NINGXIA, fresh_database, issue_token, load_tree, upgrade

PROVINCE = "64"
YEAR = 2024
FORMATS = ("csv", "ndjson", "dvs", "adx")
KEPT_POSTGRES = "quhua_bench_export"

# The stored values of the subtree whose month lies in the range, as the CSV export
# writes them (the element's own period spelling), in the export's order.
_PERIOD_SQL = {
    "postgresql": (
        "CASE e.period_type WHEN 'month' THEN (v.month_index / 12)::text || '-' || "
        "lpad((v.month_index % 12 + 1)::text, 2, '0') WHEN 'quarter' THEN "
        "(v.month_index / 12)::text || '-Q' || ((v.month_index % 12) / 3 + 1)::text "
        "ELSE (v.month_index / 12)::text END"
    ),
    "sqlite": (
        "CASE e.period_type WHEN 'month' THEN (v.month_index / 12) || '-' || "
        "printf('%02d', v.month_index % 12 + 1) WHEN 'quarter' THEN "
        "(v.month_index / 12) || '-Q' || ((v.month_index % 12) / 3 + 1) "
        "ELSE (v.month_index / 12) END"
    ),
}
VALUES_SQL = (
    "SELECT j.code, e.code, {period}, v.value, c.key "
    "FROM jurisdictions j JOIN data_values v ON v.jurisdiction_id = j.id "
    "JOIN option_combos c ON c.id = v.combo_id JOIN data_elements e ON e.id = c.element_id "
    "WHERE j.path >= '64/' AND j.path < '64/~' AND v.month_index >= {start} "
    "AND v.month_index < {end} ORDER BY j.path, v.month_index, v.combo_id"
)
# The store's rows of the county-level aggregates: one per county, month and combo.
AGGREGATES_SQL = (
    "SELECT j.code, e.code, r.month_index, r.total, c.key "
    "FROM jurisdictions j JOIN rollups r ON r.unit_id = j.id "
    "JOIN option_combos c ON c.id = r.combo_id JOIN data_elements e ON e.id = c.element_id "
    "WHERE j.level = '{level}' AND j.path >= '64/' AND j.path < '64/~' AND r.span = 1 "
    "AND r.month_index >= {start} AND r.month_index < {end} "
    "ORDER BY r.month_index, j.path, e.code, c.key"
)


def month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def ningxia_villages() -> list[str]:
    with TextSource(shipped_data(NINGXIA)).open() as text:
        return [row.code for row in read_rows(text) if row.level is Level.VILLAGE]


@contextmanager
def database(backend: str, keep: Path | None) -> Iterator[tuple[str, Path, bool]]:
    """(url, a folder for files, whether the database is new)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        if backend == "sqlite":
            path = keep / "export-bench.sqlite3"
            yield f"sqlite:///{path}", keep, not path.exists()
            return
        url = f"postgresql://postgres@127.0.0.1:5432/{KEPT_POSTGRES}"
        marker = keep / f"{KEPT_POSTGRES}.built"
        if not marker.exists():
            subprocess.run(
                ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", KEPT_POSTGRES],
                check=True,
            )
            subprocess.run(
                ["createdb", "-h", "127.0.0.1", "-U", "postgres", KEPT_POSTGRES], check=True
            )
        yield url, keep, not marker.exists()
        marker.touch()
        return
    with tempfile.TemporaryDirectory() as folder, fresh_database(backend, Path(folder)) as url:
        yield url, Path(folder), True


def build(url: str, folder: Path) -> None:
    upgrade(url)
    load_tree(url)
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
    assert loaded.exit_code == 0, loaded.stdout
    codes = ningxia_villages()
    path = folder / "ningxia-2024.csv.gz"
    rows = write_csv(generate(codes, first_year=YEAR, years=1, seed=2023), path)
    seconds, peak = product_import(url, path)
    print(
        f"built: {len(codes):,} villages, {rows:,} values of {YEAR} imported in {seconds:.1f} s "
        f"(peak RSS {peak:.0f} MiB)"
    )


def _count_rows(fmt: str, newlines: int) -> int:
    """Data rows among the lines: less CSV's header, NDJSON's end, DHIS2's first and last."""
    return newlines - (2 if fmt == "dvs" else 1)


def child_export(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one export through the ASGI app in this process; count what arrives."""
    settings = Settings(database_url=spec["url"], request_timeout_seconds=3600)
    headers = {
        "Authorization": f"Bearer {spec['token']}",
        "Accept-Encoding": "gzip" if spec.get("gzip") else "identity",
    }
    fmt = spec["params"]["format"]
    gzip = bool(spec.get("gzip"))
    app = create_app(settings)
    # As `quhua serve` starts each worker (quhua.app.serving_app): without it, collections
    # of the start-up heap took about 90 ms of every other export here.
    gc.freeze()
    with TestClient(app, headers=headers) as client:
        if spec.get("warm"):
            # A server that has answered before: its statements compiled, its pools open.
            _fetch(client, spec, fmt, gzip)
        return _fetch(client, spec, fmt, gzip)


def _fetch(client: TestClient, spec: dict[str, Any], fmt: str, gzip: bool) -> dict[str, Any]:
    # The bytes as they arrive; a gzip body is inflated here to count its rows.
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
    size = newlines = adx_rows = 0
    start = time.perf_counter()
    first_byte = None
    with client.stream("GET", spec["path"], params=spec["params"]) as response:
        assert response.status_code == 200, response.read()[:500]
        for chunk in response.iter_raw():
            if first_byte is None:
                first_byte = time.perf_counter() - start
            size += len(chunk)
            text = inflate.decompress(chunk) if inflate is not None else chunk
            newlines += text.count(b"\n")
            if fmt == "adx":
                adx_rows += text.count(b"<dataValue ")
    seconds = time.perf_counter() - start
    rows = adx_rows if fmt == "adx" else _count_rows(fmt, newlines)
    return {"seconds": seconds, "bytes": size, "rows": rows, "first_byte": first_byte}


def child_producer(spec: dict[str, Any]) -> dict[str, Any]:
    """The values producer and the DHIS2 writer without HTTP, with or without storedBy."""

    async def run() -> dict[str, Any]:
        engine = async_engine(spec["url"])
        try:
            async with async_sessionmaker(engine)() as session:
                context = await operator_context(RequestSession(session))
                asked = ValuesAsked(PROVINCE, f"{YEAR}", f"{YEAR}")
                export = ValueExport(context, asked, authors=spec["authors"])
                at = dt.datetime.now(dt.UTC)
                writer = writer_for(
                    "dvs", ValueShapes(), export.cursor, cursors=False, bom=False, exported_at=at
                )
                body = ExportBody(export, writer)
                start = time.perf_counter()
                await body.open()
                size = 0
                async for chunk in encoded(body.text(), gzip=False):
                    size += len(chunk)
                return {"seconds": time.perf_counter() - start, "bytes": size, "rows": body.rows}
        finally:
            await engine.dispose()

    return asyncio.run(run())


def child_bare(spec: dict[str, Any]) -> dict[str, Any]:
    """The bare dump of the same rows, to a sink, counting lines."""
    sql: str = spec["sql"]
    url: str = spec["url"]
    start = time.perf_counter()
    size = lines = 0
    if url.startswith("postgresql"):
        with psycopg.connect(url) as connection:
            start = time.perf_counter()
            with connection.cursor().copy(f"COPY ({sql}) TO STDOUT WITH CSV") as copy:
                for chunk in copy:
                    size += len(chunk)
                    lines += bytes(chunk).count(b"\n")
    elif spec.get("shell"):
        path = url.removeprefix("sqlite:///")
        start = time.perf_counter()
        done = subprocess.run(["sqlite3", "-csv", path, sql], check=True, capture_output=True)
        size, lines = len(done.stdout), done.stdout.count(b"\n")
    else:
        database = sqlite3.connect(url.removeprefix("sqlite:///"))
        start = time.perf_counter()
        cursor = database.execute(sql)
        while batch := cursor.fetchmany(5000):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(batch)
            data = buffer.getvalue().encode()
            size += len(data)
            lines += len(batch)
        database.close()
    return {"seconds": time.perf_counter() - start, "bytes": size, "rows": lines}


def in_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run a measurement in a fresh process; its figures and its peak RSS in MiB."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, output
    found: dict[str, Any] = json.loads(output)
    found["rss_mib"] = usage.ru_maxrss / 1024
    return found


def median_run(spec: dict[str, Any], runs: int) -> dict[str, Any]:
    results = [in_child(spec) for _ in range(runs)]
    best = dict(results[0])
    for key in ("seconds", "rss_mib", "first_byte"):
        values = [r[key] for r in results if r.get(key) is not None]
        if values:
            best[key] = statistics.median(values)
    return best


def line(label: str, found: dict[str, Any], bare: dict[str, Any] | None) -> str:
    rate = found["rows"] / found["seconds"]
    text = (
        f"  {label:34} {found['rows']:>9,} rows {found['seconds']:7.2f} s {rate:>10,.0f} rows/s"
        f"  {found['bytes'] / 2**20:7.1f} MiB  RSS {found['rss_mib']:5.0f} MiB"
    )
    if found.get("first_byte") is not None:
        text += f"  first byte {found['first_byte'] * 1000:6.0f} ms"
    if bare is not None:
        text += f"  ratio {rate / (bare['rows'] / bare['seconds']):.2f}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument(
        "--parts", default="abms", help="a: aggregates, b: values, m: memory, s: storedBy"
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        spec = json.loads(args.child)
        if "sql" in spec:
            print(json.dumps(child_bare(spec)))
        elif "authors" in spec:
            print(json.dumps(child_producer(spec)))
        else:
            print(json.dumps(child_export(spec)))
        return
    formats = [f for f in args.formats.split(",") if f]
    with database(args.backend, args.keep) as (url, folder, new):
        if new:
            build(url, folder)
        token = issue_token(url, f"bench-export-{time.time_ns()}", "admin", PROVINCE)
        backend = "postgresql" if url.startswith("postgresql") else "sqlite"
        start, end = month_index(YEAR, 1), month_index(YEAR + 1, 1)
        print(f"backend {backend}; medians of {args.runs} runs, each in its own process")
        if "a" in args.parts:
            aggregates(url, token, backend, formats, args.runs, start, end)
        if "b" in args.parts:
            values(url, token, backend, formats, args.runs, start, end)
        if "m" in args.parts:
            memory(url, token, args.runs)
        if "s" in args.parts:
            print(f"storedBy: the values of {YEAR} as dataValueSets, producer and writer only:")
            for authors in (False, True):
                found = median_run({"url": url, "authors": authors}, args.runs)
                label = "with storedBy" if authors else "without storedBy"
                print(line(label, found, None))


def _bare_specs(url: str, backend: str, sql: str) -> list[tuple[str, dict[str, Any]]]:
    if backend == "postgresql":
        return [("bare COPY … TO STDOUT WITH CSV", {"url": url, "sql": sql})]
    return [
        ("bare sqlite3 + csv writer", {"url": url, "sql": sql}),
        ("bare sqlite3 -csv (shell)", {"url": url, "sql": sql, "shell": True}),
    ]


def aggregates(
    url: str, token: str, backend: str, formats: list[str], runs: int, start: int, end: int
) -> None:
    engine = sync_engine(url)
    with engine.connect() as connection:
        index = catalogue_index_sync(connection)
    engine.dispose()
    elements = ",".join(sorted(index.elements))
    indicators = ",".join(sorted(index.indicators))
    sql = AGGREGATES_SQL.format(level="county", start=start, end=end)
    print(f"(a) county-level aggregates of {PROVINCE}, each month of {YEAR}:")
    bares = [(label, median_run(spec, runs)) for label, spec in _bare_specs(url, backend, sql)]
    for label, bare in bares:
        print(line(label, bare, None))
    reference = bares[0][1]
    base = {
        "under": PROVINCE,
        "level": "county",
        "from": f"{YEAR}-01",
        "to": f"{YEAR}-12",
        "elements": elements,
        "disaggregate": "true",
    }
    for fmt in formats:
        spec = {"url": url, "token": token, "path": "/export/aggregates"}
        found = median_run({**spec, "params": {**base, "format": fmt}}, runs)
        print(line(f"elements disaggregated, {fmt}", found, reference))
    spec = {"url": url, "token": token, "path": "/export/aggregates"}
    found = median_run({**spec, "params": {**base, "format": "csv"}, "gzip": True}, runs)
    print(line("elements disaggregated, csv gzip", found, reference))
    found = median_run({**spec, "params": {**base, "format": "csv"}, "warm": True}, runs)
    print(line("elements disaggregated, csv, warm", found, reference))
    for fmt in formats:
        params = {**base, "indicators": indicators, "format": fmt}
        found = median_run({**spec, "params": params}, runs)
        print(line(f"+ every indicator, {fmt}", found, None))


def values(
    url: str, token: str, backend: str, formats: list[str], runs: int, start: int, end: int
) -> None:
    sql = VALUES_SQL.format(period=_PERIOD_SQL[backend], start=start, end=end)
    print(f"(b) stored values under {PROVINCE} of {YEAR}:")
    bares = [(label, median_run(spec, runs)) for label, spec in _bare_specs(url, backend, sql)]
    for label, bare in bares:
        print(line(label, bare, None))
    reference = bares[0][1]
    base = {"under": PROVINCE, "from": f"{YEAR}-01", "to": f"{YEAR}-12"}
    spec = {"url": url, "token": token, "path": "/export/values"}
    for fmt in formats:
        found = median_run({**spec, "params": {**base, "format": fmt}}, runs)
        print(line(f"values, {fmt}", found, reference))
    found = median_run({**spec, "params": {**base, "format": "csv"}, "gzip": True}, runs)
    print(line("values, csv gzip", found, reference))
    found = median_run({**spec, "params": {**base, "format": "csv", "cursors": "true"}}, runs)
    print(line("values, csv with cursors", found, reference))


def memory(url: str, token: str, runs: int) -> None:
    print("peak RSS at 1x and 10x rows (csv):")
    spec = {"url": url, "token": token, "path": "/export/values"}
    for label, last in (
        ("values 2024-01 (1x)", "2024-01"),
        ("values 2024-01..10 (10x)", "2024-10"),
    ):
        params = {"under": PROVINCE, "from": "2024-01", "to": last, "format": "csv"}
        print(line(label, median_run({**spec, "params": params}, runs), None))
    spec = {"url": url, "token": token, "path": "/export/aggregates"}
    for label, level in (
        ("aggregates, counties (1x)", "county"),
        ("aggregates, townships", "township"),
    ):
        params = {
            "under": PROVINCE,
            "level": level,
            "from": "2024-01",
            "to": "2024-12",
            "elements": "births,deaths,population,contraceptive_users",
            "indicators": "birth_rate,death_rate,sex_ratio_at_birth",
            "disaggregate": "true",
            "format": "csv",
        }
        print(line(label, median_run({**spec, "params": params}, runs), None))


if __name__ == "__main__":
    main()
