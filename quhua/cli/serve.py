"""`quhua serve` and `quhua demo`: the HTTP server."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import urllib.request
import webbrowser
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, Progress, TimeElapsedColumn
from rich.table import Table
from uvicorn.config import LOGGING_CONFIG

from core.db.engine import async_engine
from quhua import demo as demo_data
from quhua.cli.common import DatabaseOption, engine_for, require_current_schema, settings_for
from quhua.demo_cycle import seed_demo_cycle
from quhua.settings import Settings
from quhua.telemetry.logs import json_log_config

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="TCP port.")]


def _run(host: str, port: int, workers: int, database_url: str, *, json_logs: bool) -> None:
    # Worker processes read their settings from the environment.
    os.environ["QUHUA_DATABASE_URL"] = database_url
    uvicorn.run(
        "quhua.app:serving_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # JSON lines with the trace ids of their request; else uvicorn's own text.
        log_config=json_log_config() if json_logs else LOGGING_CONFIG,
    )


def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    json_logs: Annotated[
        bool,
        typer.Option(
            "--json-logs/--text-logs", help="JSON lines carrying trace ids, or uvicorn's text."
        ),
    ] = True,
    database_url: DatabaseOption = None,
) -> None:
    """Serve GraphQL at /graphql (GraphiQL in a browser)."""
    settings = settings_for(database_url)
    with engine_for(settings) as engine, engine.connect() as connection:
        require_current_schema(connection)
    _run(host, port, workers, settings.url, json_logs=json_logs)


def _open_when_up(url: str) -> None:
    def wait_and_open() -> None:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.5)
        webbrowser.open(f"{url}/graphql")

    threading.Thread(target=wait_and_open, daemon=True).start()


async def _demo_tokens(url: str) -> list[tuple[demo_data.DemoUser, str]]:
    engine = async_engine(url)
    try:
        return await demo_data.issue_demo_tokens(engine)
    finally:
        await engine.dispose()


def _print_tokens(issued: list[tuple[demo_data.DemoUser, str]]) -> None:
    table = Table(title="Demo users (tokens valid 30 days; new ones on every run)")
    for column in ("who", "subject", "role at", "Headers tab of GraphiQL"):
        table.add_column(column)
    for user, token in issued:
        table.add_row(
            user.what,
            user.subject,
            f"{user.role.value} at {user.code}",
            f'{{"Authorization": "Bearer {token}"}}',
        )
    Console(width=200).print(table)


def _seed(settings: Settings) -> None:
    started = time.perf_counter()
    count = 0
    with engine_for(settings) as engine:
        for months in demo_data.DEMO_QUARTERS:
            seeded = demo_data.seed_values(engine, months)
            if seeded is not None:
                count += seeded.inserted
                typer.echo(f"demo values of {months[0]} to {months[-1]} are in")
    if count:
        typer.echo(
            f"imported {count:,} synthetic monthly values for the villages of Ningxia "
            f"in {time.perf_counter() - started:.1f} s"
        )
    with engine_for(settings) as engine:
        cycle = seed_demo_cycle(engine)
    if cycle is not None:
        typer.echo(
            f"the demo's {demo_data.DEMO_YEARS[0]} reporting cycle is in: {cycle.reports:,} "
            f"reports, {cycle.approvals:,} approvals, {cycle.returned} returned for correction"
        )


def demo(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    browser: Annotated[bool, typer.Option(help="Open GraphiQL in a browser.")] = True,
    database_url: DatabaseOption = None,
) -> None:
    """Create the database with the division tree of China and serve it."""
    settings = settings_for(database_url)
    started = time.perf_counter()
    with (
        engine_for(settings) as engine,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            TimeElapsedColumn(),
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("loading the division tree of China", total=None)
        report = demo_data.prepare(
            engine,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if report is not None:
        typer.echo(
            f"loaded {report.inserted:,} divisions of China "
            f"in {time.perf_counter() - started:.1f} s into {settings.url}"
        )
    else:
        typer.echo(f"using the existing database {settings.url}")
    _print_tokens(asyncio.run(_demo_tokens(settings.url)))
    # The server answers at once; the demo values arrive a quarter at a time, newest first.
    threading.Thread(target=_seed, args=(settings,), daemon=True).start()
    url = f"http://{host}:{port}"
    typer.echo(f"\nGraphiQL: {url}/graphql  (paste a header into its Headers tab)")
    if browser and not os.environ.get("CI"):
        _open_when_up(url)
    _run(host, port, 1, settings.url, json_logs=False)
