"""Benchmark: `outliers` for a county's villages and a province's, one month against 24.

    .venv/bin/python bench/outliers.py [--backend sqlite|postgresql] [--province 64]
                                       [--runs 5] [--keep DIR]

Builds a database with the province's tree (the Ningxia file for 64, the national one
otherwise), the default catalogue and 25 months of the generator's reports for every village
(2023-01 to 2025-01, imported by `quhua values import`). With --keep DIR a SQLite database is
kept in DIR and reused. Then, through HTTP + GraphQL (`quhua serve`, a viewer token), median
and p95 of --runs requests after one untimed, for 2025-01 scored against the 24 months before
it (or, seasonal, the Januaries before it), every element reported by month:
- the first page (100 outliers) and every page (1,000 at a time, to the end) of the county
  with the most villages, and of the province;
- the same for births alone;
- the province's townships, scored on their roll-ups.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.divisions import timed
from bench.generate import villages_of
from bench.values import product_import
from core.db.engine import sync_engine
from quhua.demo import DEFAULT_CATALOGUE, NATIONAL_TREE, shipped_data
from quhua.synthetic import generate, months, write_csv
from tests.cli import quhua
from tests.databases import NINGXIA, fresh_database, issue_token, load_tree, upgrade
from tests.processes import quhua_server

PERIOD = "2025-01"
MONTHS = [*months(2023, 2), PERIOD]
QUERY = """query($under: String!, $level: Level!, $element: String, $method: OutlierMethod!,
  $first: Int!, $after: String) {
  outliers(under: $under, period: "2025-01", level: $level, element: $element, method: $method,
           first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { unit { code } element disaggregation value score severity historyPoints } }
  } }"""


@contextmanager
def database(backend: str, keep: Path | None) -> Iterator[tuple[str, Path, bool]]:
    """(url, a folder for files, whether the database is new)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        path = keep / "outliers-bench.sqlite3"
        yield f"sqlite:///{path}", keep, not path.exists()
        return
    with tempfile.TemporaryDirectory() as folder, fresh_database(backend, Path(folder)) as url:
        yield url, Path(folder), True


def build(url: str, folder: Path, province: str) -> None:
    upgrade(url)
    load_tree(url, NINGXIA if province == "64" else NATIONAL_TREE)
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
    assert loaded.exit_code == 0, loaded.stdout
    codes = villages_of(province)
    path = folder / "history.csv.gz"
    rows = write_csv(generate(codes, first_year=2023, years=3, seed=2023, only=MONTHS), path)
    seconds, _ = product_import(url, path)
    print(f"province {province}: {len(codes):,} villages, {rows:,} values of {len(MONTHS)} months")
    print(f"  imported with the store kept fresh in {seconds:.1f} s")


class Client:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def page(self, **variables: Any) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": QUERY, "variables": variables})
        body: dict[str, Any] = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
        connection: dict[str, Any] = body["data"]["outliers"]
        return connection

    def every(self, **variables: Any) -> int:
        """Every outlier, a thousand a page; how many."""
        count, after = 0, None
        while True:
            page = self.page(first=1000, after=after, **variables)
            count += len(page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                return count
            after = page["pageInfo"]["endCursor"]


def measure(url: str, province: str, runs: int) -> None:
    engine = sync_engine(url)
    with engine.connect() as connection:
        county, villages = connection.execute(
            text(
                "SELECT substr(code, 1, 6), count(*) FROM jurisdictions WHERE level = 'village' "
                "AND code LIKE :p GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
            ),
            {"p": f"{province}%"},
        ).one()
        everyone = connection.execute(
            text("SELECT count(*) FROM jurisdictions WHERE level = 'village' AND code LIKE :p"),
            {"p": f"{province}%"},
        ).scalar_one()
    engine.dispose()
    token = issue_token(url, f"bench-reader-{time.time_ns()}", "viewer", province)
    with (
        tempfile.TemporaryDirectory() as folder,
        quhua_server("serve", folder=Path(folder), env={"QUHUA_DATABASE_URL": url}) as server,
        httpx.Client(
            base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=600
        ) as http,
    ):
        client = Client(http)
        cases = [
            (f"county {county} ({villages} villages)", county, "VILLAGE"),
            (f"province {province} ({everyone:,} villages)", province, "VILLAGE"),
        ]
        print("median / p95 in ms; outliers found")
        for method in ("MODIFIED_Z_SCORE", "Z_SCORE", "SEASONAL_MODIFIED_Z_SCORE"):
            for element in (None, "births"):
                for label, under, level in cases:
                    asked = {"under": under, "level": level, "element": element, "method": method}
                    first = timed(partial(client.page, first=100, **asked), runs)
                    whole = timed(partial(client.every, **asked), runs)
                    found = client.every(**asked)
                    what = element or "every monthly element"
                    print(
                        f"  {method:26} {what:22} {label:34} first page {first[0]:8.1f} / "
                        f"{first[1]:8.1f}   all pages {whole[0]:8.1f} / {whole[1]:8.1f}   "
                        f"{found:,}"
                    )
        asked = {"under": province, "level": "TOWNSHIP", "element": None}
        townships = timed(lambda: client.every(method="MODIFIED_Z_SCORE", **asked), runs)
        print(
            f"  MODIFIED_Z_SCORE           every monthly element  province's townships "
            f"(roll-ups)   all pages {townships[0]:8.1f} / {townships[1]:8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--province", default="64")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    if args.keep is not None and args.backend != "sqlite":
        parser.error("--keep keeps a SQLite database")
    with database(args.backend, args.keep) as (url, folder, new):
        if new:
            build(url, folder, args.province)
        measure(url, args.province, args.runs)


if __name__ == "__main__":
    main()
