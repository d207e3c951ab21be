"""Benchmark: reading the monthly cycle for a province against a county.

    .venv/bin/python bench/reporting.py [--backend sqlite|postgresql] [--runs 15]

Builds Ningxia (its tree and the default catalogue) and the demo's year of its reporting
cycle (quhua/demo_cycle.py: about 35,000 reports, approvals up to the cities), then
through the ASGI app in-process, as the province's administrator, the median of --runs
requests for: `reportingStatus` of the villages for a month and for the year, under the
province and under one county; `approvalStatuses` of the province's counties and of a
county's townships; `approvalStatus` of the province.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.db.engine import sync_engine
from quhua.app import create_app
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from quhua.demo_cycle import seed_cycle
from quhua.settings import Settings
from tests.cli import quhua
from tests.databases import fresh_database, issue_token, load_tree, upgrade

YEAR = 2025
COUNTY = "640104"
STATUS = """query($under: String!, $period: String!) {
  reportingStatus(under: $under, period: $period, level: VILLAGE) {
    counts { expected submitted onTime late missing }
    below { unit { code } counts { expected submitted } }
    missingUnits(first: 50) { totalCount edges { node { unit { code } } } } } }"""
APPROVALS = """query($under: String!, $level: Level!) {
  approvalStatuses(under: $under, period: "2025-06", level: $level, first: 100) {
    totalCount edges { node { unit { code } state waitingCount } } } }"""
ONE = """{ approvalStatus(unit: "64", period: "2025-06") { state waitingCount } }"""


def build(url: str) -> int:
    upgrade(url)
    load_tree(url)
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
    assert loaded.exit_code == 0, loaded.stdout
    engine = sync_engine(url)
    with engine.begin() as connection:
        seeded = seed_cycle(connection, province="64", year=YEAR, seed=YEAR)
    engine.dispose()
    assert seeded is not None
    return seeded.reports


def median_ms(client: TestClient, query: str, runs: int, **variables: Any) -> float:
    samples = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = client.post("/graphql", json={"query": query, "variables": variables})
        samples.append((time.perf_counter() - started) * 1000)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
    return statistics.median(samples[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.backend, Path(folder)) as url:
        reports = build(url)
        token = issue_token(url, "bench-admin", "admin", "64")
        print(f"{args.backend}: Ningxia, {reports:,} reports of {YEAR}")
        app = create_app(Settings(database_url=url))
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            for period in ("2025-06", "2025"):
                province = median_ms(client, STATUS, args.runs, under="64", period=period)
                county = median_ms(client, STATUS, args.runs, under=COUNTY, period=period)
                print(
                    f"reportingStatus villages {period}: province {province:.1f} ms, "
                    f"county {county:.1f} ms, ratio {province / county:.1f}"
                )
            province = median_ms(client, APPROVALS, args.runs, under="64", level="COUNTY")
            county = median_ms(client, APPROVALS, args.runs, under=COUNTY, level="TOWNSHIP")
            print(
                f"approvalStatuses: the province's counties {province:.1f} ms, "
                f"a county's townships {county:.1f} ms, ratio {province / county:.1f}"
            )
            print(f"approvalStatus of the province: {median_ms(client, ONE, args.runs):.1f} ms")


if __name__ == "__main__":
    main()
