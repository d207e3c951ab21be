"""The `quhua` command: database, division tree, schema and server."""

from __future__ import annotations

import typer

from quhua.cli import (
    access,
    catalogue,
    db,
    divisions,
    export,
    pull,
    quality,
    reporting,
    roles,
    rollups,
    schema_export,
    serve,
    targets,
    validate,
    values,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help=__doc__,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
app.add_typer(divisions.app, name="divisions")
app.add_typer(catalogue.app, name="catalogue")
app.add_typer(values.app, name="values")
app.add_typer(rollups.app, name="rollups")
app.add_typer(targets.app, name="targets")
app.add_typer(reporting.app, name="reporting")
app.add_typer(schema_export.app, name="schema")
app.add_typer(export.app, name="export")
app.add_typer(access.token_app, name="token")
app.add_typer(roles.app, name="role")
app.command("grant")(access.grant)
app.command("revoke")(access.revoke)
app.command("serve")(serve.serve)
app.command("demo")(serve.demo)
app.command("outliers")(quality.outliers)
app.command("validate")(validate.validate)
app.command("pull")(pull.pull_command)


def main() -> None:
    app()
