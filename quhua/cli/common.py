"""What the commands share: settings, engines and one way to fail."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeElapsedColumn
from sqlalchemy import Connection, Engine, Transaction

from core.db.engine import SQLITE_WRITE, sync_engine
from core.files.csvfile import CsvFileError
from core.files.report import FileReport
from core.files.textfiles import TextSource
from quhua import migrate
from quhua.settings import Settings

err_console = Console(stderr=True, soft_wrap=True)
R = TypeVar("R", bound=FileReport)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="QUHUA_DATABASE_URL",
        help="SQLAlchemy URL; default: a SQLite file under ./var.",
        show_default=False,
    ),
]


def settings_for(database_url: str | None) -> Settings:
    settings = Settings()
    if database_url:
        settings.database_url = database_url
    settings.prepare_data_dir()
    return settings


@contextmanager
def engine_for(settings: Settings) -> Iterator[Engine]:
    engine = sync_engine(settings.url)
    try:
        yield engine
    finally:
        engine.dispose()


def fail(message: str, *, code: int = 1) -> NoReturn:
    err_console.print("error:", style="red", end=" ")
    err_console.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def require_current_schema(connection: Connection) -> None:
    """Stop with the command to run when the database's schema is behind the code."""
    try:
        migrate.ensure_current(connection)
    except migrate.SchemaBehindError as error:
        fail(str(error))


@contextmanager
def file_progress(label: str, total: int, *, show: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar over a file's bytes on a terminal; yields the function to advance it."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        disable=not show,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)

        def advance(done: int) -> None:
            # Once the file is read, checks and writes follow under a full bar: say so.
            phase = label if done < total else f"{label}: checking and writing"
            progress.update(task, completed=done, description=phase)

        yield advance


def print_bad_rows(file: Path, report: FileReport) -> None:
    """Every kept bad row as FILE:LINE: reason, then how many there were."""
    for error in report.errors:
        typer.echo(f"{file}:{error.line}: {error.reason}", err=True)
    if report.error_count > len(report.errors):
        typer.echo(f"… and {report.error_count - len(report.errors)} more bad rows", err=True)
    typer.echo(f"{report.error_count} bad rows in {file}: nothing was written", err=True)


def finish(
    file: Path, report: R, *, as_json: bool, summary: Callable[[Path, R], Iterable[str]]
) -> None:
    """Print a file load's outcome (JSON, its bad rows, or its summary); exit 1 if bad."""
    if as_json:
        typer.echo(json.dumps({"file": str(file), **report.as_dict()}, ensure_ascii=False))
    elif not report.ok:
        print_bad_rows(file, report)
    else:
        for line in summary(file, report):
            typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


@contextmanager
def writing(database_url: str | None) -> Iterator[tuple[Connection, Transaction]]:
    """One writing transaction at the current schema; committed at the end unless the
    caller rolled it back. A writer from the start: SQLite then queues other writers behind
    it instead of failing them, and it never upgrades a read transaction midway."""
    settings = settings_for(database_url)
    with (
        engine_for(settings) as engine,
        engine.connect().execution_options(**{SQLITE_WRITE: True}) as connection,
        connection.begin() as transaction,
    ):
        require_current_schema(connection)
        yield connection, transaction


def load_file(
    database_url: str | None,
    file: Path,
    *,
    label: str,
    as_json: bool,
    work: Callable[[Connection, TextSource, Callable[[int], None]], R],
) -> R:
    """Run a file load in one writing transaction: committed if the report says written.

    The load gets the connection, the file and a progress callback; a file that cannot be
    read at all ends the command with its message.
    """
    source = TextSource(file)
    with (
        writing(database_url) as (connection, transaction),
        file_progress(
            f"{label} {file.name}", source.size, show=not as_json and sys.stderr.isatty()
        ) as advance,
    ):
        try:
            report = work(connection, source, advance)
        except CsvFileError as error:
            transaction.rollback()
            fail(f"{file}: {error}")
        if report.written:
            transaction.commit()
        else:
            transaction.rollback()
    return report
