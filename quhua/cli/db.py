"""`quhua db`: the database schema."""

from __future__ import annotations

import typer

from quhua import migrate
from quhua.cli.common import DatabaseOption, engine_for, settings_for

app = typer.Typer(no_args_is_help=True, help="Create and upgrade the database schema.")


@app.command()
def upgrade(database_url: DatabaseOption = None) -> None:
    """Apply every migration not yet applied (Alembic `upgrade head`)."""
    settings = settings_for(database_url)
    with engine_for(settings) as engine, engine.begin() as connection:
        migrate.upgrade(connection)
        revision = migrate.current_revision(connection)
    typer.echo(f"database at revision {revision}")


@app.command()
def current(database_url: DatabaseOption = None) -> None:
    """Print the database's revision and whether it is the newest."""
    settings = settings_for(database_url)
    with engine_for(settings) as engine, engine.connect() as connection:
        revision = migrate.current_revision(connection)
    head = migrate.head_revision()
    state = "up to date" if revision == head else f"behind {head}: run `quhua db upgrade`"
    typer.echo(f"{revision or 'empty'} ({state})")
