"""Benchmark: what refreshing validation violations adds to a province's monthly import.

    .venv/bin/python bench/validation.py [--backend sqlite|postgresql] [--rounds 3]

Builds a database with the Ningxia tree, the default catalogue (with its validation rules)
and five months (2024-01 … 2024-05) of the generator's reports for every village, imported
as users import them. Then one new month (2024-06) is imported, in a transaction rolled
back, two ways in the same process: without the refresh (keep_violations=False), and as
users import it, with `refresh_violations_sync` over the cells it changed (every village and
the month). Medians of the rounds after an untimed warm-up, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.values import product_import
from core.db.engine import sync_engine
from core.files.textfiles import TextSource
from indicators.catalogue_index import catalogue_index_sync
from indicators.value_import import import_values
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from quhua.synthetic import Row, generate, write_csv
from tests.cli import quhua
from tests.databases import NINGXIA, fresh_database, load_tree, upgrade

HISTORY = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
MONTH = "2024-06"
# One village in this many reports more policy-compliant births than births (a HIGH rule).
FAILING_EVERY = 20


def with_failures(rows: Iterator[Row], failing: set[str]) -> Iterator[Row]:
    for code, element, period, value, disaggregation in rows:
        fails = element == "policy_births" and code in failing
        yield code, element, period, "999" if fails else value, disaggregation


def ningxia_villages() -> list[str]:
    lines = shipped_data(NINGXIA).read_text(encoding="utf-8").splitlines()
    return [line.split(",")[0] for line in lines if ",village," in line]


def build(url: str, folder: Path, codes: list[str]) -> None:
    upgrade(url)
    load_tree(url)
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
    assert loaded.exit_code == 0, loaded.stdout
    path = folder / "history.csv.gz"
    rows = write_csv(generate(codes, first_year=2024, years=1, seed=2023, only=HISTORY), path)
    seconds, _ = product_import(url, path)
    span = f"{HISTORY[0]}…{HISTORY[-1]}"
    print(f"{len(codes):,} villages; {rows:,} values of {span} imported in {seconds:.1f} s")


def one_round(url: str, path: Path, *, refresh: bool) -> tuple[float, int]:
    """Seconds for the import (with or without the refresh), rolled back; open violations."""
    engine = sync_engine(url)
    with engine.connect() as connection:
        transaction = connection.begin()
        index = catalogue_index_sync(connection)
        start = time.perf_counter()
        report = import_values(
            connection,
            TextSource(path),
            index=index,
            actor="bench",
            reason="bench",
            keep_violations=refresh,
        )
        elapsed = time.perf_counter() - start
        assert report.ok, report.errors[:3]
        transaction.rollback()
    engine.dispose()
    return elapsed, report.violations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    codes = ningxia_villages()
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.backend, Path(folder)) as url:
        build(url, Path(folder), codes)
        path = Path(folder) / "month.csv.gz"
        month = generate(codes, first_year=2024, years=1, seed=7, only=[MONTH])
        rows = write_csv(with_failures(month, set(codes[::FAILING_EVERY])), path)
        one_round(url, path, refresh=True)
        seconds: dict[bool, list[float]] = {False: [], True: []}
        found = 0
        for _ in range(args.rounds):
            for refresh in (False, True):
                elapsed, count = one_round(url, path, refresh=refresh)
                seconds[refresh].append(elapsed)
                found = max(found, count)
        alone, refreshed = (statistics.median(seconds[way]) for way in (False, True))
        print(
            f"{args.backend}: one month, {len(codes):,} villages, {rows:,} values "
            f"(medians of {args.rounds} rounds, each rolled back)"
        )
        print(f"  import, violations not kept   {alone:6.2f} s")
        print(f"  import, violations refreshed  {refreshed:6.2f} s ({found} open violations)")
        each = " ".join(f"{b / a:.2f}" for a, b in zip(seconds[False], seconds[True], strict=True))
        print(f"  ratio {refreshed / alone:.2f} (rounds: {each})")


if __name__ == "__main__":
    main()
