"""Benchmark: load the national division tree, then time the tree queries on it.

    .venv/bin/python bench/divisions.py [--backend sqlite|postgresql] [--runs 30]

Prints the load's rows/s and peak memory (the `quhua divisions load` process, as a user runs
it), then median and p95 latency of GraphQL tree queries over HTTP (ASGI, in process), beside
the raw SQL that answers the same question, as a ratio.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.db.engine import sync_engine
from quhua.demo import NATIONAL_TREE, shipped_data
from tests.conftest import client_for, data_of
from tests.databases import fresh_database, upgrade

ROWS = 665_276

QUERIES: dict[str, tuple[str, str]] = {
    "unit with ancestors and 10 children": (
        '{ jurisdiction(code: "130102001") { code name ancestors { code name } '
        "children(first: 10) { edges { node { code name } } } } }",
        "SELECT code, name FROM jurisdictions WHERE code IN ('13', '1301', '130102', "
        "'130102001') UNION ALL SELECT * FROM (SELECT code, name FROM jurisdictions WHERE "
        "parent_id = (SELECT id FROM jurisdictions WHERE code = '130102001') "
        "ORDER BY code LIMIT 10) AS c",
    ),
    "100 villages of Hebei (first page)": (
        '{ jurisdictions(level: VILLAGE, under: "13", first: 100) '
        "{ edges { cursor node { code name } } } }",
        "SELECT code, name, path FROM jurisdictions WHERE level = 'village' "
        "AND path >= '13/' AND path < '13/~' ORDER BY path LIMIT 101",
    ),
    "villages of Hebei: totalCount": (
        '{ jurisdictions(level: VILLAGE, under: "13", first: 0) { totalCount } }',
        "SELECT count(*) FROM jurisdictions WHERE level = 'village' "
        "AND path >= '13/' AND path < '13/~' AND valid_to IS NULL",
    ),
    "31 provinces with village counts": (
        "{ jurisdictions(level: PROVINCE) { edges { node { code "
        "descendantCount(level: VILLAGE) } } } }",
        "SELECT r.code, (SELECT count(*) FROM jurisdictions d WHERE d.level = 'village' "
        "AND d.path > r.path AND d.path < r.path || '~') FROM jurisdictions r "
        "WHERE r.level = 'province'",
    ),
    "search a name (兴庆)": (
        '{ jurisdictions(search: "兴庆") { edges { node { code name } } } }',
        "SELECT code, name FROM jurisdictions WHERE name LIKE '%兴庆%' "
        "AND valid_to IS NULL ORDER BY path LIMIT 51",
    ),
    "500 villages with parent and 10 children": (
        '{ jurisdictions(level: VILLAGE, under: "13", first: 500) { edges { node { '
        "code name parent { code name } children(first: 10) { totalCount } } } } }",
        "SELECT v.code, v.name, p.code, p.name FROM jurisdictions v JOIN jurisdictions p "
        "ON p.id = v.parent_id WHERE v.level = 'village' AND v.path >= '13/' "
        "AND v.path < '13/~' ORDER BY v.path LIMIT 501",
    ),
}


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def load(url: str) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "quhua",
            "divisions",
            "load",
            str(shipped_data(NATIONAL_TREE)),
            "--json",
            "--valid-from",
            "2023-06-30",
            "--database-url",
            url,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"load {NATIONAL_TREE}: {ROWS:,} rows in {seconds:.1f} s = {ROWS / seconds:,.0f} rows/s; "
        f"peak RSS of the load process {max(peak, before) / 1024:.0f} MiB"
    )


def queries(url: str, runs: int) -> None:
    engine = sync_engine(url)
    print(f"{'query':45} {'GraphQL median/p95 ms':>22} {'SQL median/p95 ms':>19} {'ratio':>6}")
    with client_for(url) as client, engine.connect() as connection:
        for name, (graphql, sql) in QUERIES.items():
            g_median, g_p95 = timed(lambda q=graphql: data_of(client, q), runs)
            s_median, s_p95 = timed(lambda s=sql: connection.execute(text(s)).all(), runs)
            print(
                f"{name:45} {g_median:10.2f} / {g_p95:8.2f} {s_median:8.2f} / {s_p95:8.2f} "
                f"{g_median / s_median:6.1f}"
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.backend, Path(folder)) as url:
        print(f"backend: {args.backend}")
        upgrade(url)
        load(url)
        queries(url, args.runs)


if __name__ == "__main__":
    main()
