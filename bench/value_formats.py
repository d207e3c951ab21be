"""Benchmark: the same province-year of village reports imported as CSV, DHIS2 dataValueSets
JSON and ADX, and the memory of reading a dataValueSets file whole or streamed.

    .venv/bin/python bench/value_formats.py [--backend sqlite|postgresql] [--province 64]

Loads the Ningxia tree (or, for another province, the national tree) and the default
catalogue into a template database, writes the generator's rows for one year in each
format, then, each in a process of its own:
- reads the dataValueSets file with `json.load`, and with core/files/data_value_sets.py;
- runs `quhua values import` of each file into a fresh copy of the template;
and prints rows/s, peak RSS (VmHWM) and each format's rate as a ratio to CSV's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import villages_of
from quhua.demo import DEFAULT_CATALOGUE, NATIONAL_TREE, shipped_data
from quhua.synthetic import generate, write_csv
from tests.cli import quhua
from tests.databases import cloned_database, fresh_database, load_tree, upgrade

Row = Sequence[str]


def dhis2_period(period: str) -> str:
    """`2024-03` → `202403`, `2024-Q1` → `2024Q1`, `2024` as it is."""
    return period.replace("-Q", "Q").replace("-", "")


def adx_period(period: str) -> str:
    if "-Q" in period:
        year, quarter = period.split("-Q")
        return f"{year}-{3 * int(quarter) - 2:02d}-01/P3M"
    if "-" in period:
        return f"{period}-01/P1M"
    return f"{period}-01-01/P1Y"


def write_dvs(rows: Iterator[Row], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{"dataSet": "QUHUA", "dataValues": [\n')
        for code, element, period, value, cell in rows:
            item = {
                "dataElement": element,
                "period": dhis2_period(period),
                "orgUnit": code,
                "categoryOptionCombo": cell or "default",
                "attributeOptionCombo": "default",
                "value": value,
                "storedBy": "bench",
                "lastUpdated": "2025-02-03T04:05:06.000Z",
            }
            out.write(("" if count == 0 else ",\n") + json.dumps(item))
            count += 1
        out.write("\n]}\n")
    return count


def write_adx(rows: Iterator[Row], path: Path) -> int:
    count = 0
    group: tuple[str, str] | None = None
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write('<adx xmlns="urn:ihe:qrph:adx:2015" exported="2025-02-03T04:05:06Z">\n')
        for code, element, period, value, cell in rows:
            if group != (code, period):
                if group is not None:
                    out.write("  </group>\n")
                group = (code, period)
                out.write(
                    f"  <group orgUnit={quoteattr(code)} period={quoteattr(adx_period(period))} "
                    'dataSet="QUHUA">\n'
                )
            options = "".join(
                f" {name}={quoteattr(option)}"
                for name, _, option in (part.partition("=") for part in cell.split(";") if part)
            )
            out.write(
                f"    <dataValue dataElement={quoteattr(element)}{options} "
                f"value={quoteattr(value)}/>\n"
            )
            count += 1
        if group is not None:
            out.write("  </group>\n")
        out.write("</adx>\n")
    return count


# Runs a module (`-m`) or a script in a process of its own, then writes its peak RSS
# (VmHWM: the peak since exec; ru_maxrss would count the forked copy of this process too).
_PEAK_OF = """
import os, runpy, sys
kind, target = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
try:
    if kind == "-m":
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        exec(compile(target, "<bench>", "exec"), {"__name__": "__main__"})
finally:
    with open("/proc/self/status") as status, open(os.environ["BENCH_PEAK"], "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


def measured(kind: str, target: str, *arguments: str) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of a module or script run in a process of its own."""
    with tempfile.NamedTemporaryFile("r") as peak:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", _PEAK_OF, kind, target, *arguments],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "BENCH_PEAK": peak.name},
        )
        seconds = time.perf_counter() - start
        return seconds, int(peak.read()) / 1024


READ_WHOLE = "import json, sys; json.load(open(sys.argv[1], encoding='utf-8'))"
READ_STREAMED = (
    "import sys; from core.files.data_value_sets import read_data_value_sets; "
    "assert sum(1 for _ in read_data_value_sets(open(sys.argv[1], encoding='utf-8')))"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--province", default="64")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(args.backend, Path(folder)) as template,
    ):
        upgrade(template)
        if args.province == "64":
            load_tree(template)
        else:
            load_tree(template, NATIONAL_TREE)
        loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=template)
        assert loaded.exit_code == 0
        codes = villages_of(args.province)
        files = {
            "csv": Path(folder) / "values.csv",
            "json": Path(folder) / "values.json",
            "adx": Path(folder) / "values.xml",
        }
        writers = {"csv": write_csv, "json": write_dvs, "adx": write_adx}
        rows = 0
        for name, path in files.items():
            rows = writers[name](generate(codes, first_year=2024, years=1, seed=2023), path)
        sizes = ", ".join(f"{n} {p.stat().st_size / 2**20:,.0f} MiB" for n, p in files.items())
        print(f"backend {args.backend}: province {args.province}, {rows:,} values; {sizes}")
        for label, script in (("json.load", READ_WHOLE), ("streamed", READ_STREAMED)):
            seconds, peak = measured("-c", script, str(files["json"]))
            print(f"read dataValueSets {label}: {seconds:.1f} s, peak RSS {peak:,.0f} MiB")
        rates = {}
        for name, path in files.items():
            with cloned_database(template, Path(folder)) as url:
                arguments = ("values", "import", str(path), "--json", "--database-url", url)
                seconds, peak = measured("-m", "quhua", *arguments)
            rates[name] = rows / seconds
            print(
                f"quhua values import {name}: {rates[name]:,.0f} values/s ({seconds:.1f} s), "
                f"peak RSS {peak:,.0f} MiB, ratio to CSV {rates[name] / rates['csv']:.2f}"
            )


if __name__ == "__main__":
    main()
