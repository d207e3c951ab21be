"""`quhua export aggregates|values`: the HTTP exports, written to a file by the operator.

The same rows, formats and cursors as `GET /export/…`, over the whole tree. The file
appears whole or not at all: rows go to `OUT.partial`, renamed to OUT once the end marker
is written. A run that stops keeps the partial file and names the cursor of its last
complete row, so that `--after CURSOR` writes the rest.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from core.db.session import RequestSession
from core.errors import QuhuaError
from quhua.cli.access import run
from quhua.cli.common import DatabaseOption, err_console, fail
from quhua.exports.aggregates import AggregateExport, AggregatesAsked
from quhua.exports.arguments import level_argument
from quhua.exports.formats import (
    FORMATS,
    AggregateShapes,
    Shapes,
    ValueLineShapes,
    ValueShapes,
    writer_for,
)
from quhua.exports.operator import operator_context
from quhua.exports.periods import period_type_argument
from quhua.exports.streaming import Export, ExportBody, encoded
from quhua.exports.values import ValueExport, ValuesAsked
from resolvers.context import Context

app = typer.Typer(no_args_is_help=True, help="Export aggregates or values to a file.")
R = TypeVar("R")

Under = Annotated[str, typer.Option("--under", help="The root unit's code.")]
From = Annotated[str, typer.Option("--from", help="First period: 2024-01, 2024-Q1, 2024, 2024FP.")]
To = Annotated[str, typer.Option("--to", help="Last period.")]
Elements = Annotated[str, typer.Option(help="Element codes, comma-separated.")]
Format = Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")]
Out = Annotated[
    Path,
    typer.Option("--out", dir_okay=False, help="The file to write (.gz: compressed)."),
]
Cursors = Annotated[bool, typer.Option(help="A cursor after every row (csv, dvs, adx).")]
Excel = Annotated[bool, typer.Option(help="CSV with a UTF-8 byte order mark, for Excel.")]
After = Annotated[
    str | None, typer.Option(help="Resume after the row of this cursor.", show_default=False)
]


def _codes(text: str) -> tuple[str, ...]:
    return tuple(code.strip() for code in text.split(",") if code.strip())


def _write(
    database_url: str | None,
    out: Path,
    make: Callable[[Context, dt.datetime], tuple[Export[R], Shapes[R]]],
    *,
    fmt: str,
    cursors: bool,
    excel: bool,
) -> None:
    partial = out.with_name(out.name + ".partial")

    async def work(session: RequestSession) -> tuple[int, str | None]:
        exported_at = dt.datetime.now(dt.UTC)
        export, shapes = make(await operator_context(session), exported_at)
        writer = writer_for(
            fmt.strip().lower(),
            shapes,
            export.cursor,
            cursors=cursors,
            bom=excel,
            exported_at=exported_at,
        )
        body = ExportBody(export, writer)
        await body.open()
        written: str | None = None
        with (
            partial.open("wb") as file,
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TextColumn("{task.completed:,} rows"),
                TimeElapsedColumn(),
                disable=not sys.stderr.isatty(),
                transient=True,
                console=err_console,
            ) as progress,
        ):
            task = progress.add_task(f"exporting {export.kind}", total=None)
            try:
                async for chunk in encoded(body.text(), gzip=out.suffix == ".gz"):
                    file.write(chunk)
                    written = body.last_cursor
                    progress.update(task, completed=body.rows)
            except BaseException:
                _stopped(partial, written)
                raise
            file.flush()
            os.fsync(file.fileno())
        if body.failure is not None:
            _stopped(partial, written)
            raise typer.Exit(1)
        os.replace(partial, out)
        return body.rows, body.last_cursor

    rows, last = run(database_url, work, writes=False)
    typer.echo(f"wrote {rows:,} rows to {out}" + (f"; last cursor {last}" if last else ""))


def _stopped(partial: Path, cursor: str | None) -> None:
    if cursor is None:
        partial.unlink(missing_ok=True)
        err_console.print("export stopped before any row was written", highlight=False)
        return
    err_console.print(
        f"export stopped: the rows written are in {partial}; its last complete row's "
        f"cursor is {cursor}: resume with --after {cursor}",
        highlight=False,
        markup=False,
    )


@app.command("aggregates")
def aggregates(
    under: Under,
    level: Annotated[str, typer.Option(help="The level of the rows: county, township, …")],
    from_: From,
    to: To,
    out: Out,
    indicators: Annotated[str, typer.Option(help="Indicator codes, comma-separated.")] = "",
    elements: Elements = "",
    period_type: Annotated[
        str | None, typer.Option(help="month, quarter or year; default: that of --from.")
    ] = None,
    disaggregate: Annotated[bool, typer.Option(help="A row per option combo.")] = False,
    approved_only: Annotated[bool, typer.Option(help="Withhold what is not approved.")] = False,
    fmt: Format = "csv",
    cursors: Cursors = False,
    excel: Excel = False,
    after: After = None,
    database_url: DatabaseOption = None,
) -> None:
    """Aggregates of every unit at a level under a root, for each period from..to."""
    asked = AggregatesAsked(
        under=under,
        level=_run_check(lambda: level_argument(level)),
        first=from_,
        last=to,
        period_type=_run_check(lambda: period_type_argument(period_type)),
        indicators=_codes(indicators),
        elements=_codes(elements),
        disaggregate=disaggregate,
        approved_only=approved_only,
    )

    def make(context: Context, exported_at: dt.datetime) -> tuple[Export[Any], Shapes[Any]]:
        return AggregateExport(context, asked, after=after), AggregateShapes(exported_at)

    _write(database_url, out, make, fmt=fmt, cursors=cursors, excel=excel)


@app.command("values")
def values(
    under: Under,
    from_: From,
    to: To,
    out: Out,
    elements: Elements = "",
    fmt: Format = "csv",
    cursors: Cursors = False,
    excel: Excel = False,
    after: After = None,
    database_url: DatabaseOption = None,
) -> None:
    """Stored values of a subtree whose period starts from --from to --to."""
    asked = ValuesAsked(under=under, first=from_, last=to, elements=_codes(elements))
    name = fmt.strip().lower()
    lines = name == "csv" and not cursors

    def make(context: Context, _at: dt.datetime) -> tuple[Export[Any], Shapes[Any]]:
        export = ValueExport(context, asked, after=after, authors=name == "dvs", lines=lines)
        return export, ValueLineShapes() if lines else ValueShapes()

    _write(database_url, out, make, fmt=fmt, cursors=cursors, excel=excel)


T = TypeVar("T")


def _run_check(check: Callable[[], T]) -> T:
    """The argument, or the command's end with its message."""
    try:
        return check()
    except QuhuaError as error:
        fail(error.message)
