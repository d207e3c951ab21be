"""Benchmark: the instructions a request costs, counted by valgrind, in each telemetry mode.

    .venv/bin/python bench/instructions.py --keep DIR [--small 400] [--grids 2]
        [--modes off,on,sampled]

What bench/telemetry.py times, counted instead: on a shared machine a request's time moves
by tens of percent from one run to the next, its instructions by a fraction of a percent.
Uses bench/telemetry.py's database (build it there first with the same --keep DIR). For
each mode, three processes run under `valgrind --tool=callgrind` (apt-get install valgrind):
each starts the app and answers the same warm-up requests, then one answers --small small
queries more, one --grids grids more, one nothing more; the differences, over the
requests, are a request's instructions. Prints them for each mode, with the ratio to off.

The processes run the app as bench/telemetry.py does, in one event loop, except that the
policy poll waits idle: its statements run four times a second whatever the requests do,
and under valgrind a process runs fifty times slower than without, so they would count.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import re
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import quhua.app
from bench.cost import database
from bench.telemetry import GRID, INDICATORS, MODES, SMALL, _App, environment_for, install_for
from quhua.app import create_app
from quhua.settings import Settings
from tests.databases import issue_token

_COLLECTED = re.compile(r"Collected : (\d+)")
WARM_SMALL = 20


async def _idle_poll(*args: object) -> None:
    """Stands in for quhua.app.keep_in_sync: waits for the stop it is given, polls nothing."""
    stop = args[-1]
    assert isinstance(stop, asyncio.Event)
    await stop.wait()


def answer(mode: str, url: str, token: str, small: int, grids: int) -> None:
    """In this process: the warm-up, then the small queries and grids asked for."""
    install_for(mode)
    vars(quhua.app)["keep_in_sync"] = _idle_poll
    app = create_app(Settings(database_url=url))
    gc.freeze()

    async def run() -> None:
        async with app.router.lifespan_context(app):
            client = _App(app, token)
            body = await client.post(INDICATORS, {})
            codes = [each["code"] for each in body["data"]["catalogue"]["indicators"]][:10]
            for _ in range(WARM_SMALL):
                await client.post(SMALL, {})
            await client.post(GRID, {"indicators": codes})
            for _ in range(small):
                await client.post(SMALL, {})
            for _ in range(grids):
                await client.post(GRID, {"indicators": codes})

    asyncio.run(run())


def counted(mode: str, url: str, token: str, small: int, grids: int) -> int:
    """The instructions of a process answering the warm-up and then these requests."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, __file__, "--answer", mode, "--url", url, "--token", token]
    command += ["--small", str(small), "--grids", str(grids)]
    environ = environment_for(mode, "http://127.0.0.1:9")
    done = subprocess.run(command, env=environ, capture_output=True, text=True, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode or found is None:
        raise SystemExit(f"{mode}: {done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", type=Path, help="bench/telemetry.py's --keep DIR (required)")
    parser.add_argument("--small", type=int, default=400)
    parser.add_argument("--grids", type=int, default=2)
    parser.add_argument("--modes", default="off,on,sampled")
    parser.add_argument("--answer", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.answer:
        answer(args.answer, args.url, args.token, args.small, args.grids)
        return
    if args.keep is None:
        parser.error("--keep DIR: the database bench/telemetry.py built there")
    modes = [mode.strip() for mode in args.modes.split(",")]
    if "off" not in modes or any(mode not in MODES for mode in modes):
        raise SystemExit(f"--modes: name off and any of {', '.join(MODES)}")
    if "otlp" in modes:
        raise SystemExit("--modes: otlp sends to a collector; count on or sampled instead")
    with database("sqlite", args.keep) as (url, _folder, new):
        if new:
            raise SystemExit(f"no database in {args.keep}: run bench/telemetry.py --keep first")
        token = issue_token(url, f"instructions-{uuid.uuid4().hex[:6]}", "admin", "64")
        shapes = {"none": (0, 0), "small": (args.small, 0), "grid": (0, args.grids)}
        # Two at a time: a count is the same whatever runs beside it.
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {
                (mode, shape): pool.submit(counted, mode, url, token, *sizes)
                for mode in modes
                for shape, sizes in shapes.items()
            }
            counts = {key: future.result() for key, future in futures.items()}
    per: dict[str, dict[str, float]] = {}
    for mode in modes:
        none = counts[mode, "none"]
        per[mode] = {
            "small": (counts[mode, "small"] - none) / args.small,
            "grid": (counts[mode, "grid"] - none) / args.grids,
        }
    print(f"instructions a request (callgrind; {args.small} small queries, {args.grids} grids)")
    for mode in modes:
        line = f"{mode:8}"
        for kind in ("small", "grid"):
            value = per[mode][kind]
            line += f"  {kind} {value / 1e6:9.3f} M ({value / per['off'][kind]:5.3f})"
        print(line)
    print(json.dumps(per))


if __name__ == "__main__":
    main()
