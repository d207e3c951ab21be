"""rollups: the store leaves out the deepest level, whose figures are its own values

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from indicators.rollups.maintenance import rebuild_statements

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Measured afresh: the villages' rows go, and every other row is what the new
    # maintenance keeps.
    connection = op.get_bind()
    for statement in rebuild_statements(connection.dialect.name):
        connection.execute(statement)


def downgrade() -> None:
    # The tables are unchanged. The villages' rows are not put back: an older version
    # reading villages from the store finds nothing for them until its store is rebuilt.
    pass
