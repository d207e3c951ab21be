"""Benchmark: requests/s and latency of a real server, beside a bare Starlette JSON route.

    .venv/bin/python bench/serve.py [--backend sqlite|postgresql] [--workers 1,2]
                                    [--seconds 10] [--connections 16] [--keep DIR]

Builds (or, with --keep DIR, reuses) a database with the Ningxia tree, the default catalogue
and one month (2025-01) of the demo's synthetic village reports. Then, for each worker
count, starts `quhua serve` as an operator would (uvicorn, its access log as shipped) and,
on another port with the same uvicorn settings, a bare Starlette app answering a constant
JSON body; and drives each with the same load generator (wrk with --latency when it is
installed, `apt-get install wrk`; else a bounded Python one on httpx) for --seconds over
--connections connections:
- small: one jurisdiction, five fields, with a viewer's token;
- point: one aggregate of the province (births of the month with its completeness);
- grid: the 1,000-village grid of 10 indicators, in columns;
- mutation: submitValues of one village's value (a new value each request), as an admin;
- bare: the bare route.
Prints requests/s, p50 and p99 per case, and each case's ratio to the bare route.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2 as httpx

from bench.feed import build
from tests.databases import fresh_database, issue_token

ROOT = Path(__file__).resolve().parent.parent
SMALL = '{ jurisdiction(code: "640104") { code name level validFrom validTo } }'
POINT = """{ jurisdiction(code: "64") {
  value(element: "births", period: "2025-01") { value reportingUnits expectedUnits } } }"""
INDICATORS = [
    "birth_rate",
    "death_rate",
    "natural_growth_rate",
    "sex_ratio_at_birth",
    "multi_child_share",
    "policy_rate",
    "contraceptive_prevalence",
    "long_acting_share",
    "three_checks_rate",
    "fee_collection_rate",
]
GRID = (
    '{ rollup(under: "64", level: VILLAGE, period: "2025-01", first: 1000, indicators: '
    + json.dumps(INDICATORS)
    + ") { codes names columns { code values reportingUnits expectedUnits nullReasons } } }"
)
SUBMIT = (
    'mutation { submitValues(reason: "bench", input: [{ jurisdiction: "640104001002", '
    'element: "births", period: "2025-01", disaggregation: "sex=male;parity=1", '
    "value: VALUE }]) { ok } }"
)
BARE = "bench.bare_app:app"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def database(backend: str, keep: Path | None) -> Iterator[tuple[str, bool]]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        path = keep / "serve-bench.sqlite3"
        yield f"sqlite:///{path}", not path.exists()
        return
    with tempfile.TemporaryDirectory() as folder, fresh_database(backend, Path(folder)) as url:
        yield url, True


@contextmanager
def server(command: list[str], port: int, env: dict[str, str]) -> Iterator[str]:
    """A server process, up (its /healthz or / answers) until the block ends."""
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.25)
        else:
            raise RuntimeError(f"{command} did not answer on {port}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def quhua_server(url: str, workers: int) -> tuple[list[str], int]:
    port = free_port()
    command = [sys.executable, "-m", "quhua", "serve", "--port", str(port)]
    return [*command, "--workers", str(workers), "--database-url", url], port


def bare_server(workers: int) -> tuple[list[str], int]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", BARE, "--port", str(port)]
    return [*command, "--workers", str(workers), "--app-dir", str(ROOT)], port


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{auth}
local template = {body}
counter = 0
request = function()
  counter = counter + 1
  local body = string.gsub(template, "VALUE", tostring(counter % 997 + 1))
  return wrk.format(nil, "{path}", nil, body)
end
"""


def _wrk(base: str, case: dict[str, Any], seconds: int, connections: int) -> dict[str, float]:
    auth = f'wrk.headers["Authorization"] = "Bearer {case["token"]}"' if case["token"] else ""
    body = json.dumps(json.dumps({"query": case["query"]})) if case["query"] else '""'
    script = _WRK_SCRIPT.format(auth=auth, body=body, path=case["path"])
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        done = subprocess.run(
            [
                *("wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"),
                *("--timeout", "60s", "-s", file.name, base + case["path"]),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(file.name)
    out = done.stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    # connect, read, write and timeout errors: a request that failed or never ended
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _wrk_ms(out, "50%"),
        "p99": _wrk_ms(out, "99%"),
        "errors": float(non_2xx.group(1)) if non_2xx else 0.0,
        "socket_errors": float(sum(int(n) for n in socket.groups())) if socket else 0.0,
    }


def _wrk_ms(out: str, label: str) -> float:
    found = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out)
    assert found is not None, out
    value, unit = float(found.group(1)), found.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _python(base: str, case: dict[str, Any], seconds: int, connections: int) -> dict[str, float]:
    """The same load from asyncio: `connections` clients, each one request at a time."""

    async def run() -> dict[str, float]:
        headers = {"Authorization": f"Bearer {case['token']}"} if case["token"] else {}
        latencies: list[float] = []
        errors = 0
        end = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(
            base_url=base, headers=headers, limits=limits, timeout=60
        ) as client:

            async def loop(seed: int) -> None:
                nonlocal errors
                count = seed
                while time.perf_counter() < end:
                    count += 1
                    query = case["query"].replace("VALUE", str(count % 997 + 1))
                    start = time.perf_counter()
                    answer = await client.post(case["path"], json={"query": query})
                    latencies.append(time.perf_counter() - start)
                    errors += answer.status_code != 200

            started = time.perf_counter()
            await asyncio.gather(*(loop(seed * 1000) for seed in range(connections)))
            elapsed = time.perf_counter() - started
        quantiles = statistics.quantiles(latencies, n=100)
        return {
            "rps": len(latencies) / elapsed,
            "p50": quantiles[49] * 1000,
            "p99": quantiles[98] * 1000,
            "errors": float(errors),
            "socket_errors": 0.0,
        }

    return asyncio.run(run())


def drive(base: str, case: dict[str, Any], seconds: int, connections: int) -> dict[str, float]:
    if shutil.which("wrk"):
        return _wrk(base, case, seconds, connections)
    return _python(base, case, seconds, connections)


def check(base: str, case: dict[str, Any]) -> None:
    """One request first: the case must answer data, not errors."""
    headers = {"Authorization": f"Bearer {case['token']}"} if case["token"] else {}
    query = case["query"].replace("VALUE", "1")
    answer = httpx.post(base + case["path"], json={"query": query}, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text[:500]
    assert "errors" not in answer.json(), answer.text[:500]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--cases", default="small,point,grid,mutation")
    args = parser.parse_args()
    generator = "wrk" if shutil.which("wrk") else "python (httpx)"
    with database(args.backend, args.keep) as (url, new):
        if new:
            print(f"built: {build(url, 1):,} values of 2025-01")
        stamp = time.time_ns()
        viewer = issue_token(url, f"bench-serve-viewer-{stamp}", "viewer", "64")
        admin = issue_token(url, f"bench-serve-admin-{stamp}", "admin", "64")
        cases = {
            "small": {"path": "/graphql", "query": SMALL, "token": viewer},
            "point": {"path": "/graphql", "query": POINT, "token": viewer},
            "grid": {"path": "/graphql", "query": GRID, "token": viewer},
            "mutation": {"path": "/graphql", "query": SUBMIT, "token": admin},
        }
        chosen = [name for name in args.cases.split(",") if name]
        print(
            f"backend {url.split(':')[0]}; load: {generator}, {args.connections} connections, "
            f"{args.seconds} s a case"
        )
        for workers in (int(w) for w in args.workers.split(",")):
            command, port = bare_server(workers)
            with server(command, port, {}) as base:
                bare = drive(base, {"path": "/bare", "query": "", "token": ""}, args.seconds, 16)
            print(f"{workers} worker(s):")
            print(_line("bare Starlette JSON route", bare, None))
            command, port = quhua_server(url, workers)
            with server(command, port, {}) as base:
                for name in chosen:
                    check(base, cases[name])
                    found = drive(base, cases[name], args.seconds, args.connections)
                    print(_line(name, found, bare))


def _line(label: str, found: dict[str, float], bare: dict[str, float] | None) -> str:
    text = (
        f"  {label:28} {found['rps']:8,.0f} req/s  p50 {found['p50']:7.1f} ms  "
        f"p99 {found['p99']:7.1f} ms  non-2xx {found['errors']:.0f}  "
        f"socket errors {found['socket_errors']:.0f}"
    )
    if bare is not None:
        text += f"  ratio to bare {found['rps'] / bare['rps']:.2f}"
    return text


if __name__ == "__main__":
    main()
