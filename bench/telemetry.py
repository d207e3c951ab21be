"""Benchmark: what telemetry costs a request, off (as shipped) against on.

    .venv/bin/python bench/telemetry.py [--backend sqlite|postgresql] [--rounds 5]
        [--small 1000] [--grids 5] [--keep DIR]

Builds Ningxia (its tree, the default catalogue and a year, 2025, of the generator's monthly
reports for every village; with --keep DIR a SQLite database is kept there and reused),
then times two requests through the ASGI app, called in-process in one event loop as a
server calls it (no client thread beside it), with a province administrator's token: a
small query (one jurisdiction, five fields) and the 1,000-row grid of 10 indicators.
Each mode runs in a process of its own (OpenTelemetry takes one provider per
process), the modes one after the other in each round, each in turn first:

- off: no OTEL_* variable, as shipped;
- on: spans and metrics recorded, batched to an exporter that drops them (what the
  instrumentation itself costs);
- sampled: as on, with OTEL_TRACES_SAMPLER=parentbased_traceidratio and
  OTEL_TRACES_SAMPLER_ARG=0.1, as an operator sets them for a busy server: one request in
  ten is traced (a caller's sampled traceparent is always followed), every one measured;
- otlp: OTEL_TRACES_EXPORTER=otlp and OTEL_METRICS_EXPORTER=otlp, as an operator sets them,
  sending to a collector stand-in on this machine that reads and discards every export.

Prints each round's figures (the median wall time of a request, and the CPU time the
process spent a request, which other work on the machine disturbs less), then the median
over rounds and each mode's ratio to off.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from starlette.types import ASGIApp, Message

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cost import build, database
from quhua.app import create_app
from quhua.settings import Settings
from quhua.telemetry.setup import Providers, install
from tests.databases import issue_token

SMALL = '{ jurisdiction(code: "640104") { code name level validFrom validTo } }'
GRID = """query($indicators: [String!]) {
  rollup(under: "64", level: VILLAGE, period: "2025-12", first: 1000, indicators: $indicators) {
    codes names columns { code values reportingUnits expectedUnits nullReasons } } }"""
INDICATORS = "{ catalogue { indicators { code } } }"
MODES = ("off", "on", "sampled", "otlp")
# The variables of "sampled": the SDK reads them as it makes the tracer provider.
SAMPLED = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
# Milliseconds a request: the median wall time of "small" and "grid", and the process's
# CPU time (every thread: the app's, the exporter's) over all of them, "small cpu", "grid cpu".
Medians = dict[str, float]
KINDS = ("small", "small cpu", "grid", "grid cpu")


class _Dropped(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


class _App:
    """The app called in this process's event loop, as a server calls it, with no client
    thread beside it: what the process spends is what the app (and its exporter) spends."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.headers = [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
        ]

    async def post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [*self.headers, (b"content-length", str(len(body)).encode())],
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
        }
        messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[Message] = []

        async def receive() -> Message:
            if messages:
                return messages.pop()
            # The client stays until the answer is complete.
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        assert sent[0]["status"] == 200, sent
        answer: dict[str, Any] = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
        assert "errors" not in answer, str(answer)[:500]
        return answer

    async def ms(self, query: str, variables: dict[str, Any]) -> float:
        start = time.perf_counter()
        await self.post(query, variables)
        return (time.perf_counter() - start) * 1000


async def _measure(app: _App, small: int, grids: int) -> Medians:
    body = await app.post(INDICATORS, {})
    indicators = [each["code"] for each in body["data"]["catalogue"]["indicators"]][:10]
    assert len(indicators) == 10, indicators
    for _ in range(20):
        await app.ms(SMALL, {})
    await app.ms(GRID, {"indicators": indicators})
    cpu = time.process_time()
    small_ms = [await app.ms(SMALL, {}) for _ in range(small)]
    small_cpu = (time.process_time() - cpu) / small * 1000
    cpu = time.process_time()
    grid_ms = [await app.ms(GRID, {"indicators": indicators}) for _ in range(grids)]
    grid_cpu = (time.process_time() - cpu) / grids * 1000
    return {
        "small": statistics.median(small_ms),
        "grid": statistics.median(grid_ms),
        "small cpu": small_cpu,
        "grid cpu": grid_cpu,
    }


def install_for(mode: str) -> None:
    """This process's telemetry for the mode (otlp: from the variables, as the app reads them)."""
    if mode in {"on", "sampled"}:
        tracer = TracerProvider()
        tracer.add_span_processor(BatchSpanProcessor(_Dropped()))
        install(Providers(tracer, MeterProvider(metric_readers=[InMemoryMetricReader()])))


def environment_for(mode: str, sink: str) -> dict[str, str]:
    """This process's environment, with the mode's OTEL_* variables only."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    if mode == "sampled":
        environ |= SAMPLED
    if mode == "otlp":
        environ |= {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink,
        }
    return environ


def measure(mode: str, url: str, token: str, small: int, grids: int) -> Medians:
    """In this process: the small query's and the grid's figures."""
    install_for(mode)
    app = create_app(Settings(database_url=url))
    # As `quhua serve` starts each worker (quhua.app.serving_app).
    gc.freeze()

    async def run() -> Medians:
        async with app.router.lifespan_context(app):
            return await _measure(_App(app, token), small, grids)

    return asyncio.run(run())


def _child(mode: str, url: str, token: str, args: argparse.Namespace, sink: str) -> Medians:
    environ = environment_for(mode, sink)
    command = [sys.executable, __file__, "--measure", mode, "--url", url, "--token", token]
    command += ["--small", str(args.small), "--grids", str(args.grids)]
    done = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{mode}: {done.stderr[-2000:]}")
    result: Medians = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--grids", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="Keep (and reuse) a SQLite database here.")
    parser.add_argument("--measure", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.url, args.token, args.small, args.grids)))
        return
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    with (
        tempfile.TemporaryDirectory() as scratch,
        database(args.backend, args.keep) as (url, folder, new),
    ):
        if new:
            build(url, folder if args.keep else Path(scratch))
        token = issue_token(url, f"telemetry-bench-{uuid.uuid4().hex[:6]}", "admin", "64")
        results: dict[str, list[Medians]] = {mode: [] for mode in MODES}
        print(f"backend {args.backend}; medians of {args.small} small queries, {args.grids} grids")
        for round_number in range(1, args.rounds + 1):
            # Each mode first, second and last in turn: the machine's drift spreads evenly.
            shift = round_number % len(MODES)
            for mode in MODES[shift:] + MODES[:shift]:
                got = _child(mode, url, token, args, endpoint)
                results[mode].append(got)
                print(
                    f"round {round_number} {mode:5}"
                    + "".join(f"  {kind} {got[kind]:7.2f}" for kind in KINDS),
                    flush=True,
                )
    sink.shutdown()
    print("medians over rounds, ms (ratio to off)")
    print(f"{'mode':6}" + "".join(f"{kind:>20}" for kind in KINDS))
    base = {kind: statistics.median(r[kind] for r in results["off"]) for kind in KINDS}
    for mode in MODES:
        line = f"{mode:6}"
        for kind in KINDS:
            value = statistics.median(r[kind] for r in results[mode])
            line += f"{value:12.2f} ({value / base[kind]:5.3f})"
        print(line)


if __name__ == "__main__":
    main()
