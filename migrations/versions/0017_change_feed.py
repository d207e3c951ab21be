"""The change feed: a sequence in commit order over change sets, and resets of the store

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 10:00:00

`feed_clock` holds the last sequence number given out. A writer takes the next one as its
last statement before commit (the row's lock is held until then), so sequence numbers are
assigned in commit order. Change sets committed before this revision take their ids as
theirs: the feed's first cursor covers every stored value.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_clock")),
        sa.CheckConstraint("id = 1", name=op.f("ck_feed_clock_one_row")),
    )
    op.create_table(
        "feed_resets",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_feed_resets")),
    )
    with op.batch_alter_table("change_sets") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    # Every earlier change set is committed: its id orders it as well as any.
    op.execute("UPDATE change_sets SET seq = id")
    op.create_index("ix_change_sets_seq", "change_sets", ["seq"], unique=True)
    op.create_index("ix_value_changes_change_set_id_id", "value_changes", ["change_set_id", "id"])
    op.execute("INSERT INTO feed_clock (id, seq) SELECT 1, coalesce(max(id), 0) FROM change_sets")


def downgrade() -> None:
    op.drop_index("ix_value_changes_change_set_id_id", table_name="value_changes")
    op.drop_index("ix_change_sets_seq", table_name="change_sets")
    # In place (SQLite 3.35 and later as PostgreSQL): a batch would copy change_sets and
    # drop the original, which value_changes' foreign key refuses.
    op.execute("ALTER TABLE change_sets DROP COLUMN seq")
    op.drop_table("feed_resets")
    op.drop_table("feed_clock")
