"""Running the Alembic migrations and telling whether a database is behind them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


class SchemaBehindError(RuntimeError):
    pass


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic configuration for the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Bring the database behind the connection up to the revision."""
    command.upgrade(alembic_config(connection=connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Take the database behind the connection back to the revision."""
    command.downgrade(alembic_config(connection=connection), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def ensure_current(connection: Connection) -> None:
    """Raise SchemaBehindError, naming the command to run, unless the schema is at head."""
    current, head = current_revision(connection), head_revision()
    if current != head:
        state = "has no Quhua schema yet" if current is None else f"is at revision {current}"
        raise SchemaBehindError(
            f"the database {state}, but this version of Quhua needs {head}: "
            "run `quhua db upgrade` first"
        )
