"""quality_settings: the catalogue's outlier thresholds, plausible ranges and consistency checks

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No row until a catalogue load writes one: readers take the defaults meanwhile.
    op.create_table(
        "quality_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_quality_settings_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_settings")),
    )


def downgrade() -> None:
    op.drop_table("quality_settings")
