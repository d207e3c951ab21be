"""`quhua pull`: mirror a remote Quhua's aggregates for a subtree by following its feed."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from quhua.cli.common import fail
from quhua.pull import Follow, PullError, PullReport, http_fetch, pull

LEVELS = ("province", "city", "county", "township", "village")
PERIOD_TYPES = ("month", "quarter", "year")


def _codes(text: str | None) -> tuple[str, ...]:
    return tuple(code.strip() for code in (text or "").split(",") if code.strip())


def pull_command(
    source: Annotated[str, typer.Option("--from", help="The remote Quhua, http(s)://host:port.")],
    into: Annotated[
        str, typer.Option("--into", help="The mirror's database URL (created if absent).")
    ],
    under: Annotated[str, typer.Option(help="The root unit's division code.")],
    level: Annotated[str, typer.Option(help="Aggregates of the units at this level.")],
    token: Annotated[
        str,
        typer.Option(envvar="QUHUA_PULL_TOKEN", help="A token of the remote (or the variable)."),
    ],
    period_type: Annotated[str, typer.Option(help="month, quarter or year.")] = "month",
    elements: Annotated[
        str | None, typer.Option(help="Element codes, comma-separated (default: every one).")
    ] = None,
    indicators: Annotated[
        str | None, typer.Option(help="Indicator codes, comma-separated.")
    ] = None,
    page_size: Annotated[int, typer.Option(min=1, max=1000, help="Aggregates per page.")] = 500,
    follow: Annotated[
        float | None,
        typer.Option(min=0.1, help="Keep following: seconds between polls once caught up."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Read what moved since the last pull (everything, the first time) and store it with
    the cursor; a pull cut anywhere resumes where its last stored page ended."""
    if level.lower() not in LEVELS:
        fail(f"--level: {level!r} is not one of {', '.join(LEVELS)}")
    if period_type.lower() not in PERIOD_TYPES:
        fail(f"--period-type: {period_type!r} is not one of {', '.join(PERIOD_TYPES)}")
    followed = Follow(
        under=under.strip(),
        level=level.upper(),
        period_type=period_type.upper(),
        elements=_codes(elements),
        indicators=_codes(indicators),
    )
    fetch = http_fetch(source, token)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        disable=as_json or not sys.stderr.isatty(),
        transient=True,
    ) as progress:
        task = progress.add_task("pulling", total=None)

        def shown(report: PullReport) -> None:
            progress.update(
                task, description=f"pulling: {report.pages} pages, {report.aggregates} aggregates"
            )

        try:
            while True:
                report = pull(
                    fetch,
                    source=source,
                    into=into,
                    follow=followed,
                    page_size=page_size,
                    on_page=shown,
                )
                _print(report, as_json=as_json)
                if follow is None:
                    return
                time.sleep(follow)
        except PullError as error:
            fail(f"pull from {source}: {error}")


def _print(report: PullReport, *, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "pages": report.pages,
                    "aggregates": report.aggregates,
                    "resets": report.resets,
                    "cursor": report.cursor,
                }
            )
        )
        return
    for reason in report.resets:
        typer.echo(f"the remote's figures were reset ({reason}): read again from the start")
    typer.echo(f"pulled {report.aggregates} aggregates in {report.pages} pages")
