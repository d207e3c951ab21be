"""What a database holds of values, read directly: for tests that write it from other
processes and check what stayed."""

from __future__ import annotations

from sqlalchemy import select, text

from core.db.engine import sync_engine
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tests.cli import quhua

# What the database holds of values: how many, their sum, and how many audited changes.
Snapshot = tuple[int, float, int]
# The synthetic reports' seed of these tests.
SEED = 11


def snapshot(url: str) -> Snapshot:
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            count, total = connection.execute(
                text("SELECT count(*), coalesce(sum(value), 0) FROM data_values")
            ).one()
            changes = connection.execute(text("SELECT count(*) FROM value_changes")).scalar_one()
    finally:
        engine.dispose()
    return int(count), float(total), int(changes)


def villages(url: str) -> list[str]:
    """Every village's code, in code order."""
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            found = select(Jurisdiction.code).where(Jurisdiction.level == Level.VILLAGE)
            return list(connection.execute(found.order_by(Jurisdiction.code)).scalars())
    finally:
        engine.dispose()


def verified(url: str) -> None:
    """`quhua rollups verify` passes: the store equals its values."""
    checked = quhua("rollups", "verify", url=url)
    assert checked.exit_code == 0, checked.stdout
