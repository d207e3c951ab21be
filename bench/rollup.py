"""Benchmark: roll-up reads at province scale, and what keeping the store fresh costs.

    .venv/bin/python bench/rollup.py [--backend sqlite|postgresql] [--province 13]
                                     [--runs 20] [--raw-runs 3] [--keep DIR]

Builds a database with the national tree, the default catalogue and one year (2024) of the
generator's monthly reports for every village of the province, imported by `quhua values
import` (so the store is kept as users keep it). With --keep DIR a SQLite database is kept in
DIR and reused by later runs. Then prints:
- the import: values/s with the store kept fresh, beside the same month imported without it
  and a bare bulk INSERT of the same rows (each in a transaction rolled back), as ratios
  (medians of --import-rounds rounds, after an untimed warm-up);
- reads through HTTP + GraphQL (`quhua serve`, a viewer token), median and p95,
  beside the best hand-written SQL on data_values for the same figures and a plain SQL read
  of the store (each followed by the same arithmetic in Python), as ratios; a village is not
  in the store, its own values are its figures, so for villages that read is of its values:
  (a) ten indicators for every county of the province for the year;
  (b) ten indicators for every village of its largest county for a month;
  (c) one indicator for the province for each month of the year;
  (d) a 1,000-row grid (villages, a month, ten indicators) beside the store read plus
      json.dumps of the same rows;
  (e) one indicator of one village, one county and the province for the year.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import Connection, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.divisions import timed
from bench.generate import villages_of
from bench.values import bare_insert, product_import
from core.db.engine import sync_engine
from core.files.textfiles import TextSource
from indicators.catalogue_index import CatalogueIndex, IndicatorInfo, catalogue_index_sync
from indicators.rollups.evaluation import term_combos
from indicators.value_import import import_values
from quhua.demo import DEFAULT_CATALOGUE, NATIONAL_TREE, shipped_data
from quhua.synthetic import generate, write_csv
from tests.cli import quhua
from tests.databases import fresh_database, issue_token, load_tree, upgrade
from tests.processes import quhua_server

TEN = [
    "birth_rate",
    "death_rate",
    "natural_growth_rate",
    "sex_ratio_at_birth",
    "sex_ratio_second_births",
    "multi_child_share",
    "policy_rate",
    "contraceptive_prevalence",
    "three_checks_rate",
    "fee_collection_rate",
]
YEAR, MONTH = 2024, "2024-06"


@contextmanager
def database(backend: str, keep: Path | None) -> Iterator[tuple[str, Path, bool]]:
    """(url, a folder for files, whether the database is new)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        path = keep / "rollup-bench.sqlite3"
        yield f"sqlite:///{path}", keep, not path.exists()
        return
    with tempfile.TemporaryDirectory() as folder, fresh_database(backend, Path(folder)) as url:
        yield url, Path(folder), True


def build(url: str, folder: Path, province: str) -> None:
    upgrade(url)
    load_tree(url, NATIONAL_TREE)
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
    assert loaded.exit_code == 0, loaded.stdout
    codes = villages_of(province)
    path = folder / "year.csv.gz"
    rows = write_csv(generate(codes, first_year=YEAR, years=1, seed=2023), path)
    seconds, peak = product_import(url, path)
    print(
        f"province {province}: {len(codes):,} villages, {rows:,} values of {YEAR} imported "
        f"with the store kept fresh in {seconds:.1f} s = {rows / seconds:,.0f} values/s "
        f"(peak RSS {peak:.0f} MiB)"
    )


def import_cost(url: str, folder: Path, province: str, rounds: int) -> None:
    """One new month, three ways, each rolled back, in rounds after an untimed warm-up
    (a cold page cache would slow whichever way ran first): bare INSERT, the import without
    the store, with it. Medians of the rounds, and every round's ratio. On PostgreSQL the
    bare load is measured twice, as COPY and as an INSERT per row."""
    path = folder / "month.csv.gz"
    rows = write_csv(
        generate(villages_of(province), first_year=YEAR + 1, years=1, seed=7, only=["2025-01"]),
        path,
    )
    references = {"bare": "bare bulk INSERT"}
    if url.startswith("postgresql"):
        references = {"bare": "bare COPY", "statement": "bare INSERT (executemany)"}
    bare_insert(url, path)
    seconds: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for way in references:
            seconds[way].append(bare_insert(url, path, statement=way == "statement")[1])
        for fresh in (False, True):
            seconds[str(fresh)].append(_rolled_back_import(url, path, rows, fresh=fresh))
    print(f"one month, {rows:,} new values (each way rolled back; medians of {rounds} rounds):")
    for way, label in references.items():
        print(f"  {label:32} {rows / statistics.median(seconds[way]):12,.0f} values/s")
    for fresh, label in (("False", "import, store not kept"), ("True", "import, store kept fresh")):
        median = statistics.median(seconds[fresh])
        print(f"  {label:32} {rows / median:12,.0f} values/s")
        for way, reference in references.items():
            pairs = zip(seconds[way], seconds[fresh], strict=True)
            each = " ".join(f"{bare_s / s:.2f}" for bare_s, s in pairs)
            ratio = statistics.median(seconds[way]) / median
            print(f"    ratio to {reference:30} {ratio:.2f} (rounds: {each})")
    cost = statistics.median(seconds["True"]) / statistics.median(seconds["False"])
    print(f"  cost of the store: {cost:.2f}x the import without it")


def _rolled_back_import(url: str, path: Path, rows: int, *, fresh: bool) -> float:
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
            keep_rollups_fresh=fresh,
        )
        elapsed = time.perf_counter() - start
        assert report.ok, report.errors[:3]
        assert report.inserted == rows
        transaction.rollback()
    engine.dispose()
    return elapsed


def indicator_values(
    index: CatalogueIndex, totals: dict[int, float], codes: list[str], months: int
) -> list[float | None]:
    """The indicators from a unit's combo totals, by hand."""
    out: list[float | None] = []
    for code in codes:
        info: IndicatorInfo = index.indicators[code]
        sides = []
        for form in (info.numerator, info.denominator):
            total = 0.0
            for term, coefficient in form.terms:
                element = index.elements[term.element]
                total += coefficient * sum(totals.get(c, 0.0) for c in term_combos(element, term))
            sides.append(total)
        scale = 12 / months if info.annualize else 1
        out.append(sides[0] / sides[1] * info.factor * scale if sides[1] else None)
    return out


RAW = """
WITH per_unit AS (
  SELECT substr(j.code, 1, :width) AS grp, v.jurisdiction_id AS unit, v.combo_id AS combo,
         sum(v.value) AS total, avg(v.value) AS average, max(v.month_index) AS latest
  FROM jurisdictions j JOIN data_values v ON v.jurisdiction_id = j.id
  WHERE j.path >= :low AND j.path < :high AND j.level = 'village'
    AND v.month_index >= :first AND v.month_index < :after
  GROUP BY grp, unit, combo)
SELECT p.grp, p.combo, sum(CASE e.time_aggregation WHEN 'sum' THEN p.total
                                WHEN 'average' THEN p.average ELSE l.value END)
FROM per_unit p JOIN option_combos c ON c.id = p.combo JOIN data_elements e ON e.id = c.element_id
LEFT JOIN data_values l ON l.jurisdiction_id = p.unit AND l.combo_id = p.combo
  AND l.month_index = p.latest
GROUP BY p.grp, p.combo
"""
STORE = """
SELECT j.code, r.combo_id, r.total FROM jurisdictions j
JOIN rollups r ON r.unit_id = j.id AND r.span = :span AND r.month_index = :first
WHERE j.path >= :low AND j.path < :high AND j.level = :level AND j.valid_to IS NULL
"""
# Villages are not in the store: a month's figures of a village are its monthly values.
MONTHLY_COMBOS = """
SELECT c.id FROM option_combos c JOIN data_elements e ON e.id = c.element_id
WHERE e.period_type = 'month'
"""
VILLAGE_MONTH = f"""
SELECT j.code, v.combo_id, v.value FROM jurisdictions j
JOIN data_values v ON v.jurisdiction_id = j.id AND v.month_index = :first
  AND v.combo_id IN ({MONTHLY_COMBOS})
WHERE j.path >= :low AND j.path < :high AND j.level = :level AND j.valid_to IS NULL
"""


def by_group(rows: Any) -> dict[str, dict[int, float]]:
    found: dict[str, dict[int, float]] = defaultdict(dict)
    for group, combo, total in rows:
        found[group][combo] = float(total)
    return found


class Reads:
    def __init__(self, connection: Connection, index: CatalogueIndex, client: httpx.Client) -> None:
        self.connection = connection
        self.index = index
        self.client = client

    def graphql(self, query: str) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query})
        body: dict[str, Any] = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
        return body["data"]

    def raw(self, root: str, width: int, first: int, months: int) -> list[list[float | None]]:
        rows = self.connection.execute(
            text(RAW),
            {
                "width": width,
                "low": f"{root}/",
                "high": f"{root}/~",
                "first": first,
                "after": first + months,
            },
        )
        return [indicator_values(self.index, t, TEN, months) for t in by_group(rows).values()]

    def store(self, root: str, level: str, first: int, months: int) -> list[list[float | None]]:
        assert level != "village" or months == 1
        rows = self.connection.execute(
            text(VILLAGE_MONTH if level == "village" else STORE),
            {
                "span": months,
                "first": first,
                "low": f"{root}/",
                "high": f"{root}/~",
                "level": level,
            },
        )
        return [indicator_values(self.index, t, TEN, months) for t in by_group(rows).values()]


def report(name: str, graphql: tuple[float, float], others: dict[str, tuple[float, float]]) -> None:
    print(f"{name}\n  GraphQL over HTTP        {graphql[0]:9.2f} / {graphql[1]:9.2f} ms")
    for label, (median, p95) in others.items():
        print(
            f"  {label:24} {median:9.2f} / {p95:9.2f} ms   GraphQL / this = "
            f"{graphql[0] / median:.2f}"
        )


FULL = "code values numerators denominators reportingUnits expectedUnits nullReasons"


def grid(under: str, level: str, period: str, fields: str = FULL) -> str:
    codes = json.dumps(TEN)
    return (
        f'{{ rollup(under: "{under}", level: {level}, period: "{period}", indicators: {codes}, '
        f"first: 1000) {{ codes names columns {{ {fields} }} }} }}"
    )


def reads(url: str, province: str, runs: int, parts: str, raw_runs: int) -> None:
    token = issue_token(url, f"bench-reader-{time.time_ns()}", "viewer", province)
    engine = sync_engine(url)
    with (
        tempfile.TemporaryDirectory() as folder,
        quhua_server("serve", folder=Path(folder), env={"QUHUA_DATABASE_URL": url}) as server,
        httpx.Client(
            base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as client,
        engine.connect() as connection,
    ):
        r = Reads(connection, catalogue_index_sync(connection), client)
        path_of = {
            code: path
            for code, path in connection.execute(
                text("SELECT code, path FROM jurisdictions WHERE code = :p"), {"p": province}
            )
        }
        root = path_of[province].rstrip("/")
        county, villages = connection.execute(
            text(
                "SELECT substr(code, 1, 6), count(*) FROM jurisdictions WHERE level = 'village' "
                "AND code LIKE :p GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
            ),
            {"p": f"{province}%"},
        ).one()
        county_root = f"{root}/{county[:4]}/{county}"
        year, month = YEAR * 12, YEAR * 12 + 5

        if "a" in parts:
            report(
                f"(a) {len(TEN)} indicators for every county of {province}, {YEAR}",
                timed(lambda: r.graphql(grid(province, "COUNTY", str(YEAR))), runs),
                {
                    "SQL on raw values": timed(lambda: r.raw(root, 6, year, 12), raw_runs),
                    "SQL read of the store": timed(lambda: r.store(root, "county", year, 12), runs),
                },
            )
        if "b" in parts:
            report(
                f"(b) {len(TEN)} indicators for the {villages} villages of county {county}, "
                f"{MONTH}",
                timed(lambda: r.graphql(grid(county, "VILLAGE", MONTH)), runs),
                {
                    "SQL on raw values": timed(lambda: r.raw(county_root, 12, month, 1), runs),
                    "SQL read of the store": timed(
                        lambda: r.store(county_root, "village", month, 1), runs
                    ),
                },
            )
        series = (
            f'{{ series(code: "{province}", indicator: "birth_rate", from: "{YEAR}-01", '
            f'to: "{YEAR}-12") {{ periods values numerators denominators reportingUnits }} }}'
        )
        if "c" in parts:
            report(
                f"(c) birth_rate of {province} for each month of {YEAR}",
                timed(lambda: r.graphql(series), runs),
                {
                    "SQL on raw values": timed(
                        lambda: [r.raw(root, 2, year + m, 1) for m in range(12)],
                        raw_runs,
                    ),
                    "SQL read of the store": timed(
                        lambda: [r.store(root, "province", year + m, 1) for m in range(12)], runs
                    ),
                },
            )

        first_villages = (
            "SELECT id, code, name FROM jurisdictions WHERE level = 'village' "
            "AND valid_to IS NULL "
            "AND path >= :low AND path < :high ORDER BY path LIMIT 1000"
        )

        def store_and_dumps() -> str:
            rows = connection.execute(
                text(
                    f"SELECT v.code, v.name, r.combo_id, r.value FROM ({first_villages}) v "
                    "LEFT JOIN data_values r ON r.jurisdiction_id = v.id AND r.month_index = :m "
                    f"AND r.combo_id IN ({MONTHLY_COMBOS})"
                ),
                {"low": f"{root}/", "high": f"{root}/~", "m": month},
            )
            totals: dict[str, dict[int, float]] = {}
            names: dict[str, str] = {}
            for code, name, combo, total in rows:
                names[code] = name
                found = totals.setdefault(code, {})
                if combo is not None:
                    found[combo] = float(total)
            return json.dumps(
                [
                    {"code": code, "name": names[code], **dict(zip(TEN, values, strict=True))}
                    for code, values in (
                        (code, indicator_values(r.index, t, TEN, 1)) for code, t in totals.items()
                    )
                ]
            )

        if "d" in parts:
            big = r.graphql(grid(province, "VILLAGE", MONTH))["rollup"]
            assert len(big["codes"]) == 1000
            assert len(json.loads(store_and_dumps())) == 1000
            baseline = {"store read + json.dumps": timed(store_and_dumps, runs)}
            report(
                f"(d) a 1,000-row grid: villages of {province}, {MONTH}, {len(TEN)} indicators "
                "(codes, names and values: the rows json.dumps writes)",
                timed(lambda: r.graphql(grid(province, "VILLAGE", MONTH, "code values")), runs),
                baseline,
            )
            report(
                "    the same grid with its provenance (numerators, denominators, reporting "
                "and expected units, null reasons: six times the values)",
                timed(lambda: r.graphql(grid(province, "VILLAGE", MONTH)), runs),
                baseline,
            )
        if "e" in parts:
            one_unit(r, [county + "100005", county, province], runs)
    engine.dispose()


def one_unit(r: Reads, codes: list[str], runs: int) -> None:
    village = r.connection.execute(
        text("SELECT code FROM jurisdictions WHERE level = 'village' AND code LIKE :c LIMIT 1"),
        {"c": f"{codes[1]}%"},
    ).scalar_one()
    one: dict[str, tuple[float, float]] = {}
    for code in (village, *codes[1:]):
        query = (
            f'{{ jurisdiction(code: "{code}") {{ indicator(code: "birth_rate", '
            f'period: "{YEAR}") {{ value numerator denominator reportingUnits '
            f"expectedUnits }} }} }}"
        )
        one[code] = timed(lambda q=query: r.graphql(q), runs)
    print(f"(e) birth_rate for {YEAR}, one unit through GraphQL (median / p95 ms)")
    for code, (median, p95) in one.items():
        print(f"  {code:14} {median:9.2f} / {p95:9.2f}")
    print(f"  province / village: {one[codes[-1]][0] / one[village][0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--province", default="13")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="Keep (and reuse) a SQLite database here.")
    parser.add_argument(
        "--raw-runs",
        type=int,
        default=3,
        help="Runs of the slow SQL on raw values for (a) and (c) (seconds to minutes each).",
    )
    parser.add_argument(
        "--import-rounds", type=int, default=3, help="Rounds of the import cost (medians)."
    )
    parser.add_argument(
        "--parts", default="iabcde", help="i: import cost; a to e: the reads (default: all)."
    )
    args = parser.parse_args()
    with database(args.backend, args.keep) as (url, folder, new):
        if new:
            build(url, folder, args.province)
        if "i" in args.parts:
            import_cost(url, folder, args.province, args.import_rounds)
        reads(url, args.province, args.runs, args.parts, args.raw_runs)


if __name__ == "__main__":
    main()
