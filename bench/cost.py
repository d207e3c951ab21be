"""Benchmark: what pricing a query (schema/cost.py) costs each request, beside the request.

    .venv/bin/python bench/cost.py [--backend sqlite|postgresql] [--runs 30] [--keep DIR]

Builds Ningxia (its tree, the default catalogue and a year, 2025, of the generator's monthly
reports for every village, imported by `quhua values import`; with --keep DIR a SQLite
database is kept there and reused), then for each query prints its cost, the time pricing
it takes (median of --runs rounds of 20 calls on the parsed document, as a request prices it: the
parser cache hands every request the same document) and the whole request's time through
the ASGI app in-process (median of --runs, a province administrator's token), and the
share of the request spent pricing. The queries: a small one, those shown to users (the
README's examples, GraphiQL's first query, the demo's indicators), the largest grid of the
catalogue, and the fan-out of issue 18 (refused; once more with the limit lifted, once).
Then the small query with and without the RequestLimits middleware, interleaved.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from graphql import parse
from sqlalchemy import select
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.db.engine import sync_engine
from quhua.app import create_app
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from quhua.request_limits import RequestLimits
from quhua.settings import Settings
from quhua.synthetic import generate, write_csv
from schema.cost import cost_model
from schema.root import schema
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import within
from tests.cli import quhua
from tests.databases import fresh_database, issue_token, load_tree, upgrade
from tests.test_query_cost import FAN_OUT, shown_queries

YEAR = 2025
SMALL = '{ jurisdiction(code: "640104") { name level } }'
GRID = """query($indicators: [String!], $elements: [String!]) {
  rollup(under: "64", level: VILLAGE, period: "2025-12", first: 1000,
         indicators: $indicators, elements: $elements) {
    codes names columns { code values reportingUnits expectedUnits nullReasons } } }"""
CATALOGUE = "{ catalogue { elements { code } indicators { code } } }"


@contextmanager
def database(backend: str, keep: Path | None) -> Iterator[tuple[str, Path, bool]]:
    """(url, a folder for files, whether the database is new)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        path = keep / "cost-bench.sqlite3"
        yield f"sqlite:///{path}", keep, not path.exists()
        return
    with tempfile.TemporaryDirectory() as folder, fresh_database(backend, Path(folder)) as url:
        yield url, Path(folder), True


def build(url: str, folder: Path) -> None:
    upgrade(url)
    load_tree(url)
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
    assert loaded.exit_code == 0, loaded.stdout
    engine = sync_engine(url)
    with engine.connect() as connection:
        root = connection.execute(
            select(Jurisdiction.path).where(Jurisdiction.code == "64")
        ).scalar_one()
        codes = list(
            connection.execute(
                select(Jurisdiction.code)
                .where(Jurisdiction.level == Level.VILLAGE, within(Jurisdiction.path, root))
                .order_by(Jurisdiction.path)
            ).scalars()
        )
    engine.dispose()
    path = folder / "values.csv.gz"
    rows = write_csv(generate(codes, first_year=YEAR, years=1, seed=2023), path)
    imported = quhua("values", "import", str(path), url=url)
    assert imported.exit_code == 0, imported.stdout
    print(f"Ningxia: {len(codes):,} villages, {rows:,} values of {YEAR}")


def pricing_us(query: str, variables: dict[str, Any], runs: int) -> float:
    """Median µs to price the query, over runs of 20 calls each."""
    model = cost_model(schema._schema)
    document = parse(query)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(20):
            model.operation_cost(document, None, variables)
        samples.append((time.perf_counter() - start) / 20 * 1e6)
    return statistics.median(samples)


def request_ms(client: TestClient, query: str, variables: dict[str, Any]) -> float:
    start = time.perf_counter()
    response = client.post("/graphql", json={"query": query, "variables": variables})
    seconds = time.perf_counter() - start
    assert response.status_code == 200, response.text
    return seconds * 1000


def middleware_overhead(url: str, headers: dict[str, str], runs: int) -> None:
    """The small query through the app as built, and through one without RequestLimits
    (removed before its middleware stack is built), interleaved."""
    plain = create_app(Settings(database_url=url))
    limits: object = RequestLimits
    plain.user_middleware = [m for m in plain.user_middleware if m.cls is not limits]
    with (
        TestClient(create_app(Settings(database_url=url)), headers=headers) as limited,
        TestClient(plain, headers=headers) as unlimited,
    ):
        times: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(runs * 10 + 1):
            times["with"].append(request_ms(limited, SMALL, {}))
            times["without"].append(request_ms(unlimited, SMALL, {}))
    with_it, without = (statistics.median(times[k][1:]) for k in ("with", "without"))
    print(
        f"small query with / without RequestLimits (medians of {runs * 10}, interleaved): "
        f"{with_it:.2f} / {without:.2f} ms = {with_it / without:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="Keep (and reuse) a SQLite database here.")
    args = parser.parse_args()
    with database(args.backend, args.keep) as (url, folder, new):
        if new:
            build(url, folder)
        # A subject of its own each run: a kept database keeps the earlier runs' grants.
        token = issue_token(url, f"cost-bench-{uuid.uuid4().hex[:6]}", "admin", "64")
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(Settings(database_url=url)), headers=headers) as client:
            measure(client, url, headers, args.runs, args.backend)


def measure(client: TestClient, url: str, headers: dict[str, str], runs: int, backend: str) -> None:
    codes = client.post("/graphql", json={"query": CATALOGUE}).json()["data"]["catalogue"]
    grid = {kind: [c["code"] for c in codes[kind]] for kind in codes}
    *readme, graphiql, rates = shown_queries()
    queries: list[tuple[str, str, dict[str, Any]]] = [
        ("small: one unit, two fields", SMALL, {}),
        *((f"README example {n}", query, {}) for n, query in enumerate(readme, 1)),
        ("GraphiQL's first query", graphiql, {}),
        ("the demo's indicators of 64", rates, {}),
        ("grid: 1,000 villages x 32 columns", GRID, grid),
        ("the fan-out (refused)", FAN_OUT, {}),
    ]
    model = cost_model(schema._schema)
    samples: dict[str, list[float]] = {name: [] for name, _, _ in queries}
    for _ in range(runs + 1):
        for name, query, variables in queries:
            samples[name].append(request_ms(client, query, variables))
    print(f"backend {backend}; medians of {runs} requests (after one untimed), pricing x20")
    print(f"{'query':36} {'cost':>8} {'pricing us':>11} {'request ms':>11} {'share':>7}")
    for name, query, variables in queries:
        price = pricing_us(query, variables, runs)
        request = statistics.median(samples[name][1:])
        cost = model.operation_cost(parse(query), None, variables)
        print(f"{name:36} {cost:>8,} {price:>11.1f} {request:>11.2f} {price / 10 / request:>6.2f}%")
    middleware_overhead(url, headers, runs)
    lifted = Settings(database_url=url, max_query_cost=10**9)
    with TestClient(create_app(lifted), headers=headers) as unlimited:
        seconds = request_ms(unlimited, FAN_OUT, {}) / 1000
    print(f"the fan-out with the limit lifted, once: {seconds:.1f} s")


if __name__ == "__main__":
    main()
