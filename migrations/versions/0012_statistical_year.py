"""catalogue_settings: the month the catalogue's statistical year starts in

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The family-planning statistical year starts on 1 October; a catalogue loaded before this
# revision named no month, and that is what its next load writes when it names none either.
OCTOBER = 10


def upgrade() -> None:
    settings = op.create_table(
        "catalogue_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statistical_year_starts", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalogue_settings_one_row")),
        sa.CheckConstraint(
            "statistical_year_starts BETWEEN 1 AND 12", name=op.f("ck_catalogue_settings_month")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_settings")),
    )
    # One row from the start, so that readers never guess.
    op.execute(settings.insert().values(id=1, statistical_year_starts=OCTOBER))


def downgrade() -> None:
    op.drop_table("catalogue_settings")
