"""Write synthetic monthly values for every village of a real province, as an import file.

    .venv/bin/python bench/generate.py --province 13 --years 1 --out var/hebei-2024.csv.gz

The same generator fills `quhua demo`; the villages come from the shipped division tree.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.files.textfiles import TextSource
from quhua.demo import NATIONAL_TREE, shipped_data
from quhua.synthetic import generate, write_csv
from tenancy.levels import Level
from tenancy.loading.rows import read_rows


def villages_of(province: str) -> list[str]:
    source = TextSource(shipped_data(NATIONAL_TREE))
    with source.open() as text:
        return [
            row.code
            for row in read_rows(text)
            if row.level is Level.VILLAGE and row.code.startswith(province)
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--province", required=True, help="Province code, such as 13 or 64.")
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--first-year", type=int, default=2024)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--out", type=Path, required=True, help="A .csv or .csv.gz file.")
    args = parser.parse_args()
    codes = villages_of(args.province)
    if not codes:
        parser.error(f"no villages under province {args.province!r}")
    start = time.perf_counter()
    count = write_csv(
        generate(codes, first_year=args.first_year, years=args.years, seed=args.seed), args.out
    )
    seconds = time.perf_counter() - start
    print(
        f"{len(codes):,} villages x {args.years * 12} months: {count:,} values "
        f"in {seconds:.1f} s ({count / seconds:,.0f} values/s) -> {args.out}"
    )


if __name__ == "__main__":
    main()
