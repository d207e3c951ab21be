"""Benchmark: assessments and rankings of Ningxia, for the province against one county.

    .venv/bin/python bench/assessment.py [--runs 30] [--keep DIR]

Builds a SQLite database with the Ningxia tree, the default catalogue and one year (2024) of
the generator's monthly reports for every village (imported by `quhua values import`, so the
store is kept as users keep it), then sets the seed's four targets (births, birth rate,
natural growth, family-planning rate as a veto) for the province, its 22 counties, the
townships of one county and every village, with `quhua targets import`. With --keep DIR the
database is kept in DIR and reused. Then prints, through HTTP + GraphQL (in-process ASGI, a
province administrator's token), median and p95 of --runs runs after a warm-up:
- `assessment` of one county, and of the province;
- `children { assessment }`: the assessments of the province's 22 counties, and of one
  county's townships, in one request;
- `ranking` by SCORE and by birth_rate of the province's counties, of one county's
  townships, of the province's 2,912 villages and of one county's villages.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quhua.demo import shipped_data
from quhua.synthetic import generate, write_csv
from tests.cli import quhua
from tests.conftest import client_for, data_of
from tests.databases import (
    NINGXIA,
    fresh_database,
    issue_token,
    load_catalogue,
    load_tree,
    upgrade,
)

PROVINCE, COUNTY = "64", "640104"
PLURAL = {"COUNTY": "counties", "TOWNSHIP": "townships", "VILLAGE": "villages"}
YEAR = "2024"
ASSESSMENT = """query($code: String!) { jurisdiction(code: $code) { assessment(year: "2024") {
  score grade reason targets { indicator actual met margin } } } }"""
UNITS = """query($under: String!, $level: Level!) {
  jurisdictions(under: $under, level: $level, first: 100) {
    edges { node { code assessment(year: "2024") { score grade reason } } } } }"""
RANKING = """query($under: String!, $level: Level!, $by: String!) {
  ranking(under: $under, level: $level, year: "2024", by: $by, first: 1000) {
    totalCount edges { node { rank value jurisdiction { code } } } } }"""


@contextmanager
def database(keep: Path | None) -> Iterator[tuple[str, Path, bool]]:
    """(url, a folder for files, whether the database is new)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        path = keep / "assessment-bench.sqlite3"
        yield f"sqlite:///{path}", keep, not path.exists()
        return
    with tempfile.TemporaryDirectory() as folder, fresh_database("sqlite", Path(folder)) as url:
        yield url, Path(folder), True


def units() -> dict[str, list[str]]:
    """The codes of Ningxia's units by level."""
    found: dict[str, list[str]] = {}
    for line in shipped_data(NINGXIA).read_text(encoding="utf-8").splitlines()[1:]:
        code, _, level, _ = line.split(",")
        found.setdefault(level, []).append(code)
    return found


def build(url: str, folder: Path) -> None:
    upgrade(url)
    load_tree(url)
    load_catalogue(url)
    by_level = units()
    values = folder / "ningxia-2024.csv.gz"
    rows = write_csv(generate(by_level["village"], first_year=2024, years=1, seed=2023), values)
    started = time.perf_counter()
    loaded = quhua("values", "import", str(values), url=url)
    assert loaded.exit_code == 0, loaded.stdout
    print(f"{rows:,} values of 2024 imported in {time.perf_counter() - started:.1f} s")
    targets = folder / "targets.csv"
    chosen = [
        PROVINCE,
        *by_level["county"],
        *(c for c in by_level["township"] if c.startswith(COUNTY)),
        *by_level["village"],
    ]
    lines = ["unit,year,indicator,bound,value,weight,veto"]
    for code in chosen:
        lines += [
            f"{code},{YEAR},births,at_most,2000,2,false",
            f"{code},{YEAR},birth_rate,at_most,9.5,40,false",
            f"{code},{YEAR},natural_growth_rate,at_most,4.5,40,false",
            f"{code},{YEAR},policy_rate,at_least,95,18,true",
        ]
    targets.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    imported = quhua("targets", "import", str(targets), "--reason", "bench", url=url)
    assert imported.exit_code == 0, imported.stdout + imported.stderr
    print(f"{len(lines) - 1:,} targets imported in {time.perf_counter() - started:.1f} s")


def timed(client: Any, runs: int, query: str, **variables: Any) -> tuple[float, float, Any]:
    """Median and p95 in ms of the request, after one untimed run; and its data."""
    data = data_of(client, query, **variables)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        data_of(client, query, **variables)
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    return statistics.median(seconds) * 1000, p95 * 1000, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    with database(args.keep) as (url, folder, new):
        if new:
            build(url, folder)
        token = issue_token(url, f"bench-{time.time_ns()}", "admin", PROVINCE)
        cases = [
            ("assessment of one county", ASSESSMENT, {"code": COUNTY}),
            ("assessment of the province", ASSESSMENT, {"code": PROVINCE}),
            (
                "assessments of the province's 22 counties",
                UNITS,
                {"under": PROVINCE, "level": "COUNTY"},
            ),
            (
                "assessments of one county's townships",
                UNITS,
                {"under": COUNTY, "level": "TOWNSHIP"},
            ),
        ]
        for under, label in ((PROVINCE, "the province's"), (COUNTY, "one county's")):
            for level in ("COUNTY", "TOWNSHIP", "VILLAGE"):
                if under == COUNTY and level == "COUNTY":
                    continue
                if under == PROVINCE and level == "TOWNSHIP":
                    continue
                for by in ("SCORE", "birth_rate"):
                    cases.append(
                        (
                            f"ranking of {label} {PLURAL[level]} by {by}",
                            RANKING,
                            {"under": under, "level": level, "by": by},
                        )
                    )
        print(f"SQLite, {args.runs} runs each after a warm-up; milliseconds")
        print(f"{'request':60} {'median':>8} {'p95':>8}  answer")
        with client_for(url, token) as client:
            for label, query, variables in cases:
                median, p95, data = timed(client, args.runs, query, **variables)
                print(f"{label:60} {median:8.1f} {p95:8.1f}  {describe(data)}")


def describe(data: dict[str, Any]) -> str:
    if "ranking" in data:
        ranking = data["ranking"]
        ranked = sum(1 for e in ranking["edges"] if e["node"]["rank"] is not None)
        return f"{ranking['totalCount']} units, {ranked} ranked"
    if "jurisdictions" in data:
        grades: dict[str, int] = {}
        for edge in data["jurisdictions"]["edges"]:
            found = edge["node"]["assessment"]
            grade = found["grade"] if found else "none"
            grades[grade] = grades.get(grade, 0) + 1
        return ", ".join(f"{n} {grade}" for grade, n in sorted(grades.items()))
    found = data["jurisdiction"]["assessment"]
    return f"{found['grade']} ({found['score']:g})"


if __name__ == "__main__":
    main()
