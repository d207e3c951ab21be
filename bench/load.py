"""Benchmark: many clients at once, a mix of reads and a trickle of writes, on PostgreSQL.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--workers 2]
                                   [--backend postgresql|sqlite] [--write-every 20]
                                   [--grids 1] [--keep DIR]

Builds a database as bench/serve.py does (the Ningxia tree, the default catalogue and one
month, 2025-01, of the demo's synthetic village reports), starts `quhua serve --workers N`
over it, and runs --clients concurrent clients (asyncio and httpx, each one request at a
time, at most --seconds, capped at 600) that pick, in turn:
- grid (--grids reads in ten, 1 by default): the 1,000-village grid of 10 indicators
  (bench/serve.py's GRID);
- indicator (half the other reads): a county's birth rate and sex ratio at birth of the
  month, with completeness;
- tree (the other half): a county with its ancestors and its first 20 townships;
- write: one village's births of the month (a new value each time), every --write-every-th
  request of a client.
Prints throughput and p50/p99 per kind, and every failed answer (not HTTP 200, or errors in
the body). Exits 1 if any request failed: under load, none may.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2 as httpx
from sqlalchemy import select

from bench.feed import build
from bench.serve import GRID, database, quhua_server, server
from core.db.engine import sync_engine
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tests.databases import issue_token

MAX_SECONDS = 600
COUNTIES = ["640104", "640105", "640106", "640121", "640122", "640181", "640202", "640205"]
INDICATOR = """query($code: String!) { jurisdiction(code: $code) {
  birthRate: indicator(code: "birth_rate", period: "2025-01") {
    value reportingUnits expectedUnits }
  sexRatio: indicator(code: "sex_ratio_at_birth", period: "2025-01") {
    value reportingUnits expectedUnits } } }"""
TREE = """query($code: String!) { jurisdiction(code: $code) {
  code name level ancestors { code name }
  children(first: 20) { totalCount edges { node { code name level } } } } }"""
WRITE = """mutation($value: Float!, $unit: String!) { submitValues(reason: "load", input: [{
  jurisdiction: $unit, element: "births", period: "2025-01",
  disaggregation: "sex=female;parity=1", value: $value }]) { ok errors { code message } } }"""
# How many villages the writers take turns on (the first of the county 640104): a client
# keeps to one, so that writers seldom queue on a cell.
WRITTEN = 10
# A client's reads in turn, ten at a time: --grids of them grids (the heavy one, 1,000
# rows), the others indicators and trees in turn.
READS = 10


@dataclass(frozen=True)
class Mix:
    write_every: int
    grids: int
    written: list[str]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)


def _request(number: int, seq: int, mix: Mix) -> tuple[str, dict[str, object]]:
    if seq % mix.write_every == 0:
        unit = mix.written[number % len(mix.written)]
        return "write", {"query": WRITE, "variables": {"value": float(seq % 97), "unit": unit}}
    slot = (number + seq) % READS
    kind = "grid" if slot < mix.grids else ("indicator", "tree")[slot % 2]
    if kind == "grid":
        return kind, {"query": GRID}
    code = COUNTIES[(number + seq) % len(COUNTIES)]
    return kind, {"query": INDICATOR if kind == "indicator" else TREE, "variables": {"code": code}}


async def _client(
    client: httpx.AsyncClient,
    number: int,
    end: float,
    mix: Mix,
    tally: Tally,
) -> None:
    seq = number
    while time.perf_counter() < end:
        seq += 1
        kind, body = _request(number, seq, mix)
        start = time.perf_counter()
        try:
            answer = await client.post("/graphql", json=body)
        except httpx.TransportError as error:
            tally.failures.append(f"{kind}: {type(error).__name__}: {error}")
            continue
        tally.latencies[kind].append(time.perf_counter() - start)
        failed = answer.status_code != 200 or "errors" in answer.json()
        if not failed and kind == "write":
            failed = answer.json()["data"]["submitValues"]["ok"] is not True
        if failed:
            tally.failures.append(f"{kind}: HTTP {answer.status_code}: {answer.text[:300]}")


async def _drive(base: str, token: str, clients: int, seconds: float, mix: Mix) -> Tally:
    tally = Tally()
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=120
    ) as client:
        end = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(client, number, end, mix, tally) for number in range(clients))
        )
    return tally


def _villages(url: str) -> list[str]:
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            found = select(Jurisdiction.code).where(
                Jurisdiction.level == Level.VILLAGE, Jurisdiction.code.startswith("640104")
            )
            return list(
                connection.execute(found.order_by(Jurisdiction.code).limit(WRITTEN)).scalars()
            )
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-every", type=int, default=20)
    parser.add_argument("--grids", type=int, default=1, help="grids in every 10 reads")
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    seconds = min(args.seconds, MAX_SECONDS)
    with database(args.backend, args.keep) as (url, new):
        if new:
            print(f"built: {build(url, 1):,} values of 2025-01")
        mix = Mix(args.write_every, min(args.grids, READS), _villages(url))
        token = issue_token(url, f"bench-load-{time.time_ns()}", "admin", "64")
        command, port = quhua_server(url, args.workers)
        with server(command, port, {}) as base:
            started = time.perf_counter()
            tally = asyncio.run(_drive(base, token, args.clients, seconds, mix))
            elapsed = time.perf_counter() - started
    total = sum(len(found) for found in tally.latencies.values())
    print(
        f"backend {url.split(':')[0]}, {args.workers} worker(s), {args.clients} clients, "
        f"{mix.grids} grid(s) in 10 reads, a write every {mix.write_every} requests, "
        f"{elapsed:.1f} s: {total:,} requests, {total / elapsed:,.1f} req/s, "
        f"{len(tally.failures)} failed"
    )
    for kind in ("grid", "indicator", "tree", "write"):
        found = tally.latencies.get(kind, [])
        if len(found) < 2:
            print(f"  {kind:10} {len(found):7,} requests")
            continue
        quantiles = statistics.quantiles(found, n=100)
        print(
            f"  {kind:10} {len(found):7,} requests {len(found) / elapsed:8,.1f} req/s  "
            f"p50 {quantiles[49] * 1000:8.1f} ms  p99 {quantiles[98] * 1000:8.1f} ms"
        )
    for failure in tally.failures[:20]:
        print(f"  failed: {failure}")
    if tally.failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
