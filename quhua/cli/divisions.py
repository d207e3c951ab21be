"""`quhua divisions`: the division tree."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Connection

from indicators.feed.clock import reset_statements
from quhua.cli.common import DatabaseOption, finish, load_file
from tenancy.loading.load import load_divisions
from tenancy.loading.report import LoadReport

app = typer.Typer(no_args_is_help=True, help="Load and inspect the division tree.")


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2023-06-30") from None


@app.command()
def load(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="CSV: code,name,level,parent_code."
        ),
    ],
    valid_from: Annotated[
        str | None,
        typer.Option(help="Date new units start to exist (YYYY-MM-DD); default today."),
    ] = None,
    retire_missing: Annotated[
        bool,
        typer.Option(help="Retire units under the file's top units that it no longer lists."),
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Check and report; write nothing.")] = False,
    max_errors: Annotated[int, typer.Option(min=1, help="Bad rows listed at most.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Load a division tree (plain, .gz or .xz CSV); nothing is written if any row is bad."""
    start = _parse_date(valid_from) if valid_from else dt.date.today()
    report = load_file(
        database_url,
        file,
        label="loading",
        as_json=as_json,
        work=lambda connection, source, advance: _announced(
            connection,
            load_divisions(
                connection,
                source,
                valid_from=start,
                retire_missing=retire_missing,
                dry_run=dry_run,
                max_errors=max_errors,
                on_progress=advance,
            ),
        ),
    )
    finish(file, report, as_json=as_json, summary=_summary)


def _announced(connection: Connection, report: LoadReport) -> LoadReport:
    """The report, once units that begin, end, return or change their names have put a
    reset in the change feed: they move the units expected of every aggregate above them
    (or the names a follower holds), and no stored value says so."""
    if report.written and report.inserted + report.restored + report.retired + report.renamed:
        # Read by every follower, of any subtree: it says what, never where or how many.
        for statement in reset_statements(dt.datetime.now(dt.UTC), "the division tree changed"):
            connection.execute(statement)
    return report


def _summary(file: Path, report: LoadReport) -> list[str]:
    verb = "would change" if not report.written else "loaded"
    lines = [
        f"{verb} {file.name}: {report.rows} rows; {report.inserted} new, "
        f"{report.renamed} renamed, {report.restored} restored, {report.unchanged} unchanged"
    ]
    if report.missing:
        sample = ", ".join(report.missing_sample)
        action = (
            f"retired {report.retired}"
            if report.retired
            else "kept (pass --retire-missing to retire them)"
        )
        lines.append(f"{report.missing} units no longer listed, {action}: {sample}…")
    return lines
