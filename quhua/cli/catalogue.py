"""`quhua catalogue`: the data elements and indicators units report and read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from indicators.catalogue_file import CatalogueError, read_catalogue
from indicators.catalogue_store import store_catalogue
from quhua.cli.common import DatabaseOption, fail, writing

app = typer.Typer(no_args_is_help=True, help="Load and update the indicator catalogue.")


@app.command()
def load(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A TOML catalogue.")
    ],
    dry_run: Annotated[bool, typer.Option(help="Check and report; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Load or update a catalogue; if anything in the file is wrong, nothing is written."""
    try:
        spec = read_catalogue(file)
    except CatalogueError as error:
        if as_json:
            typer.echo(json.dumps({"ok": False, "problems": error.problems}, ensure_ascii=False))
            raise typer.Exit(1) from None
        fail(f"{file}: {len(error.problems)} problems, nothing was written\n" + str(error))
    # A writer from the start: a rebuild of the store must not race writers of values.
    with writing(database_url) as (connection, tx):
        try:
            report = store_catalogue(connection, spec)
        except CatalogueError as error:
            tx.rollback()
            if as_json:
                problems = {"ok": False, "problems": error.problems}
                typer.echo(json.dumps(problems, ensure_ascii=False))
                raise typer.Exit(1) from None
            fail(
                f"{file}: {len(error.problems)} changes would re-interpret stored values, "
                f"nothing was written\n{error}"
            )
        if dry_run:
            tx.rollback()
    if as_json:
        report_json = {"ok": True, "written": not dry_run, **report.as_dict()}
        typer.echo(json.dumps(report_json, ensure_ascii=False))
        return
    verb = "would load" if dry_run else "loaded"
    typer.echo(
        f"{verb} {file.name}: {len(spec.categories)} categories, {len(spec.elements)} "
        f"elements, {len(spec.indicators)} indicators; created {report.created or 'nothing'}, "
        f"updated {report.updated or 'nothing'}, removed {report.removed or 'nothing'}"
    )
    for code, why in report.rebuilt.items():
        typer.echo(f"{'would rebuild' if dry_run else 'rebuilt'} the aggregates of {code}: {why}")
