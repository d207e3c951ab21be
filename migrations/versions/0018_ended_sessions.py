"""Console sessions ended by signing out

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 12:00:00

The console's cookie is its session; a row here refuses a signed-out session's cookie
(known by its nonce's SHA-256) until the cookie would have expired.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ended_sessions",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash", name=op.f("pk_ended_sessions")),
    )
    op.create_index("ix_ended_sessions_until", "ended_sessions", ["until"])


def downgrade() -> None:
    op.drop_index("ix_ended_sessions_until", table_name="ended_sessions")
    op.drop_table("ended_sessions")
