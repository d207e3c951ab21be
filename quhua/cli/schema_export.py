"""`quhua schema`: the GraphQL contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schema.root import schema_sdl

app = typer.Typer(no_args_is_help=True, help="The GraphQL schema.")


@app.command()
def export(
    output: Annotated[Path, typer.Option(help="Where to write the SDL.")] = Path("schema.graphql"),
) -> None:
    """Write the schema in SDL (checked in as schema.graphql)."""
    output.write_text(schema_sdl(), encoding="utf-8")
    typer.echo(f"wrote {output}")
