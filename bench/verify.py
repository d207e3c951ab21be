"""Benchmark: verifying and rebuilding the store of aggregates for a province's year.

    .venv/bin/python bench/verify.py [--backend sqlite|postgresql] [--province 64] [--keep DIR]

Builds the same database as bench/rollup.py (the national tree, the default catalogue and a
year of the generator's monthly reports for every village of the province, imported with
the store kept fresh), then times, as an operator runs them, `quhua rollups verify` (whole
store, and one element), `quhua rollups rebuild`, and verify again; each must find the store
equal to its values. Prints seconds and stored values measured per second.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rollup import build, database
from core.db.engine import sync_engine
from indicators.models import DataValue
from tests.cli import quhua


def stored_values(url: str) -> int:
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(DataValue)).scalar_one())
    finally:
        engine.dispose()


def timed_command(url: str, *args: str) -> float:
    start = time.perf_counter()
    result = quhua("rollups", *args, url=url)
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--province", default="64")
    parser.add_argument("--keep", type=Path, help="Keep (and reuse) a SQLite database here.")
    args = parser.parse_args()
    with database(args.backend, args.keep) as (url, folder, new):
        if new:
            build(url, folder, args.province)
        values = stored_values(url)
        print(f"{args.backend}, province {args.province}: {values:,} stored values")
        for label, command in (
            ("verify (whole store)", ["verify"]),
            ("verify --element births", ["verify", "--element", "births"]),
            ("rebuild (whole store)", ["rebuild"]),
            ("verify after rebuild", ["verify"]),
        ):
            seconds = timed_command(url, *command)
            print(f"  {label:28} {seconds:8.1f} s  {values / seconds:12,.0f} values/s")


if __name__ == "__main__":
    main()
