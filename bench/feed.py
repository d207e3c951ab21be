"""Benchmark: following the change feed of a province, and how soon a commit is seen.

    .venv/bin/python bench/feed.py [--backend sqlite|postgresql] [--months 3] [--runs 20]

Builds Ningxia (its tree, the default catalogue and --months of the demo's synthetic village
reports, imported as `quhua demo` does), then through the ASGI app in-process, as an
aggregate reader of the province:
- follows `changes` from the feed's start at the county level (every element), page by
  page: pages, aggregates, aggregates per second;
- after each of --runs submitValues of a village's month, the time from the mutation's
  answer (its commit) to a `changes` page from the follower's cursor that holds it: the
  feed's latency from commit to visibility for a poller;
- the same for an `aggregateChanges` subscriber: from the commit to the pushed page.
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
from quhua.demo import DEFAULT_CATALOGUE, seed_values, shipped_data
from quhua.settings import Settings
from quhua.synthetic import months
from tests.cli import quhua
from tests.databases import fresh_database, issue_token, load_tree, upgrade

PAGE = """query($after: String) {
  changes(under: "64", level: COUNTY, after: $after, first: 1000) {
    changes { unit period code value } endCursor hasMore } }"""
ONE = """query($after: String) {
  changes(under: "64", level: COUNTY, after: $after, elements: ["births"]) {
    changes { unit period value } endCursor hasMore } }"""
LIVE = """subscription($after: String) {
  aggregateChanges(under: "64", level: COUNTY, elements: ["births"], after: $after) {
    changes { unit period value } endCursor } }"""
SUBMIT = """mutation($value: Float!) { submitValues(reason: "bench", input: [{
  jurisdiction: "640104001002", element: "births", period: "2025-06",
  disaggregation: "sex=male;parity=1", value: $value }]) { ok } }"""


def build(url: str, count: int) -> int:
    upgrade(url)
    load_tree(url)
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
    assert loaded.exit_code == 0, loaded.stdout
    engine = sync_engine(url)
    try:
        report = seed_values(engine, months(2025, 1)[:count])
    finally:
        engine.dispose()
    assert report is not None
    return report.inserted


def post(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def follow_from_start(client: TestClient) -> tuple[int, int, float, str]:
    pages = aggregates = 0
    after = None
    started = time.perf_counter()
    while True:
        page = post(client, PAGE, after=after)["changes"]
        pages += 1
        aggregates += len(page["changes"])
        after = page["endCursor"]
        if not page["hasMore"]:
            return pages, aggregates, time.perf_counter() - started, after


def poll_latency(admin: TestClient, reader: TestClient, cursor: str, runs: int) -> list[float]:
    seen: list[float] = []
    for run in range(runs):
        post(admin, SUBMIT, value=float(run + 1))
        committed = time.perf_counter()
        page = post(reader, ONE, after=cursor)["changes"]
        assert page["changes"]
        assert page["changes"][-1]["value"] is not None
        seen.append(time.perf_counter() - committed)
        cursor = page["endCursor"]
    return seen


def push_latency(admin: TestClient, reader_token: str, cursor: str, runs: int) -> list[float]:
    seen: list[float] = []
    with admin.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        auth = {"Authorization": f"Bearer {reader_token}"}
        ws.send_json({"type": "connection_init", "payload": auth})
        assert ws.receive_json()["type"] == "connection_ack"
        subscribe = {"query": LIVE, "variables": {"after": cursor}}
        ws.send_json({"id": "1", "type": "subscribe", "payload": subscribe})
        for run in range(runs):
            post(admin, SUBMIT, value=float(100 + run))
            committed = time.perf_counter()
            pushed = ws.receive_json()
            assert pushed["type"] == "next", pushed
            seen.append(time.perf_counter() - committed)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(args.backend, Path(folder)) as url,
    ):
        started = time.perf_counter()
        values = build(url, args.months)
        print(
            f"{args.backend}: {values:,} values of {args.months} months in "
            f"{time.perf_counter() - started:.1f} s"
        )
        admin_token = issue_token(url, "bench-admin", "admin", "64")
        reader_token = issue_token(url, "bench-reader", "aggregate_reader", "64")
        app = create_app(Settings(database_url=url))
        with (
            TestClient(app, headers={"Authorization": f"Bearer {admin_token}"}) as admin,
            TestClient(app, headers={"Authorization": f"Bearer {reader_token}"}) as reader,
        ):
            pages, aggregates, seconds, cursor = follow_from_start(reader)
            print(
                f"feed from its start, counties of 64, every element: {pages} pages, "
                f"{aggregates:,} aggregates in {seconds:.2f} s "
                f"({aggregates / seconds:,.0f} aggregates/s, {values / seconds:,.0f} values/s)"
            )
            polled = poll_latency(admin, reader, cursor, args.runs)
            print(
                f"commit → visible to a poller (one changes page): median "
                f"{statistics.median(polled) * 1000:.1f} ms, max {max(polled) * 1000:.1f} ms"
            )
            head = post(reader, "{ feedHead }")["feedHead"]
            pushed = push_latency(admin, reader_token, head, args.runs)
            print(
                f"commit → pushed to a subscriber: median "
                f"{statistics.median(pushed) * 1000:.1f} ms, max {max(pushed) * 1000:.1f} ms"
            )


if __name__ == "__main__":
    main()
