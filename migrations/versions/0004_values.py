"""values: what units report, and every change to it

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:47:48.631795
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("combo_id", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=2, asdecimal=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["combo_id"], ["option_combos.id"], name=op.f("fk_data_values_combo_id_option_combos")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_data_values_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_values")),
        sa.UniqueConstraint("jurisdiction_id", "combo_id", "month_index", name="unit_cell_period"),
    )
    op.create_table(
        "value_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_subject_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("combo_id", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=False),
        sa.Column("old_value", sa.Numeric(precision=20, scale=2, asdecimal=False), nullable=True),
        sa.Column("new_value", sa.Numeric(precision=20, scale=2, asdecimal=False), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_subject_id"],
            ["subjects.id"],
            name=op.f("fk_value_changes_actor_subject_id_subjects"),
        ),
        sa.ForeignKeyConstraint(
            ["combo_id"], ["option_combos.id"], name=op.f("fk_value_changes_combo_id_option_combos")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_value_changes_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_value_changes")),
    )
    with op.batch_alter_table("value_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_value_changes_jurisdiction_id_id", ["jurisdiction_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("value_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_value_changes_jurisdiction_id_id")

    op.drop_table("value_changes")
    op.drop_table("data_values")
