"""Each caller's last write position on the primary, shared by every server process

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 13:00:00

A read replica serves a caller once its replay position has reached the caller's last
commit; the position is noted here as well as in the process that committed, so that the
caller's reads through any other process find it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "write_positions",
        sa.Column("subject_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_write_positions")),
    )


def downgrade() -> None:
    op.drop_table("write_positions")
