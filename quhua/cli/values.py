"""`quhua values`: importing what units reported."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from indicators.catalogue_index import catalogue_index_sync
from indicators.value_files import ValueFormat
from indicators.value_import import ImportReport, import_values
from quhua.cli.common import DatabaseOption, fail, finish, load_file

app = typer.Typer(no_args_is_help=True, help="Import values reported by units.")


@app.command("import")
def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV (jurisdiction,element,period,value,disaggregation), DHIS2 "
            "dataValueSets JSON (.json) or ADX (.xml, .adx); plain, .gz or .xz.",
        ),
    ],
    format_name: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="csv, dvs (DHIS2 dataValueSets JSON; also: json) or adx; default: by the "
            "file's extension.",
            show_default=False,
        ),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why: kept with every change.")] = "import",
    dry_run: Annotated[bool, typer.Option(help="Check and report; write nothing.")] = False,
    max_errors: Annotated[int, typer.Option(min=1, help="Bad rows listed at most.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Upsert every row of the file, or none if any row is wrong; every change is audited."""
    try:
        value_format = ValueFormat.named(format_name) if format_name else None
    except ValueError as error:
        fail(str(error))
    report = load_file(
        database_url,
        file,
        label="importing",
        as_json=as_json,
        work=lambda connection, source, advance: import_values(
            connection,
            source,
            index=catalogue_index_sync(connection),
            actor=f"cli:{getpass.getuser()}",
            reason=reason,
            value_format=value_format,
            dry_run=dry_run,
            max_errors=max_errors,
            on_progress=advance,
        ),
    )
    if not as_json and not report.ok and report.positions != "line":
        _print_bad_values(file, report)
        raise typer.Exit(1)
    finish(file, report, as_json=as_json, summary=_summary)


def _print_bad_values(file: Path, report: ImportReport) -> None:
    """As print_bad_rows, for positions that are no lines: FILE: dataValues[6]: reason."""
    for error in report.errors:
        typer.echo(f"{file}: {report.position(error.line)}: {error.reason}", err=True)
    if report.error_count > len(report.errors):
        typer.echo(f"… and {report.error_count - len(report.errors)} more bad rows", err=True)
    typer.echo(f"{report.error_count} bad rows in {file}: nothing was written", err=True)


def _summary(file: Path, report: ImportReport) -> list[str]:
    verb = "imported" if report.written else "would import"
    return [
        f"{verb} {file.name}: {report.rows} rows; {report.inserted} new, "
        f"{report.updated} changed, {report.unchanged} unchanged"
    ]
