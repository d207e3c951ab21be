"""Migrations are the only way the schema changes: they must build exactly the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from core.db.engine import sync_engine
from migrations.models import target_metadata
from quhua import migrate
from tests.databases import upgrade


def test_upgrade_head_builds_what_the_models_declare(empty_url: str) -> None:
    upgrade(empty_url)
    engine = sync_engine(empty_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, target_metadata) == []
            assert migrate.current_revision(connection) == migrate.head_revision()
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(migrated_url: str) -> None:
    engine = sync_engine(migrated_url)
    try:
        with engine.begin() as connection:
            migrate.downgrade(connection, "base")
        with engine.connect() as connection:
            assert "jurisdictions" not in inspect(connection).get_table_names()
        with engine.begin() as connection:
            migrate.upgrade(connection)
        with engine.connect() as connection:
            assert "jurisdictions" in inspect(connection).get_table_names()
    finally:
        engine.dispose()
