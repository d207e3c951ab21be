"""`quhua rollups`: whether the store of aggregates equals its values, and restoring it."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sqlalchemy import Connection, select

from indicators.feed.clock import reset_statements
from indicators.models import DataElement
from indicators.rollups.verification import Filter, rebuild, verify
from quhua.cli.common import DatabaseOption, fail, writing
from tenancy.models import Jurisdiction

app = typer.Typer(no_args_is_help=True, help="Verify or rebuild the store of aggregates.")

Under = Annotated[
    str | None, typer.Option("--under", help="Only this unit and those below it (a code).")
]
Elements = Annotated[
    list[str] | None, typer.Option("--element", help="Only this data element (repeatable).")
]
SHOWN = 50


@contextmanager
def _steps(label: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not sys.stderr.isatty(),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


def _element_ids(connection: Connection, codes: list[str] | None) -> list[int] | None:
    if not codes:
        return None
    found = dict(
        connection.execute(
            select(DataElement.code, DataElement.id).where(DataElement.code.in_(codes))
        ).all()
    )
    unknown = sorted(set(codes) - set(found))
    if unknown:
        fail(f"no data element has code {', '.join(map(repr, unknown))}")
    return [found[code] for code in codes]


def _path_of(connection: Connection, code: str | None) -> str | None:
    if code is None:
        return None
    path = connection.execute(select(Jurisdiction.path).where(Jurisdiction.code == code)).scalar()
    if path is None:
        fail(f"no jurisdiction has code {code!r}")
    return path


@app.command("verify")
def verify_command(
    under: Under = None, element: Elements = None, database_url: DatabaseOption = None
) -> None:
    """Measure the store afresh from the values and list every difference (exit 1 if any).

    Nothing is changed: the fresh measurement is rolled back.
    """
    with writing(database_url) as (connection, transaction):
        scope = Filter(
            under=_path_of(connection, under), elements=_element_ids(connection, element)
        )
        with _steps("measuring the store afresh") as advance:
            differences = verify(connection, scope=scope, progress=advance)
        transaction.rollback()
    for difference in differences[:SHOWN]:
        typer.echo(str(difference))
    if len(differences) > SHOWN:
        typer.echo(f"… and {len(differences) - SHOWN} more")
    if differences:
        typer.echo(
            f"{len(differences)} differences between the store and its values; "
            "`quhua rollups rebuild` restores the store",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo("the store equals its values")


@app.command("rebuild")
def rebuild_command(element: Elements = None, database_url: DatabaseOption = None) -> None:
    """Measure the store afresh from the values and keep it (all of it, or some elements')."""
    with writing(database_url) as (connection, _):
        elements = _element_ids(connection, element)
        with _steps("rebuilding the store") as advance:
            measured = rebuild(connection, elements=elements, progress=advance)
        # A store that was wrong moves figures no stored value explains: followers re-read.
        for statement in reset_statements(dt.datetime.now(dt.UTC), "the store was rebuilt"):
            connection.execute(statement)
    typer.echo(f"rebuilt the store from {measured} stored values")
