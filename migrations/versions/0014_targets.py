"""targets: yearly targets of units, their audit, and the thresholds that grade assessments

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 05:43:15.102870
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessment_thresholds",
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("commended", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=False),
        sa.Column("passed", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "passed >= 0 AND passed <= commended AND commended <= 100",
            name=op.f("ck_assessment_thresholds_order"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_assessment_thresholds_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("jurisdiction_id", name=op.f("pk_assessment_thresholds")),
    )
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=40), nullable=False),
        sa.Column(
            "bound",
            sa.Enum(
                "at_most",
                "at_least",
                name="target_bound",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=False),
        sa.Column("weight", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=False),
        sa.Column("veto", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("weight > 0", name=op.f("ck_targets_positive_weight")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_targets_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint("jurisdiction_id", "month_index", "indicator", name="unit_year_code"),
    )
    op.create_table(
        "assessment_threshold_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_subject_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("issuer", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column(
            "old_commended", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=True
        ),
        sa.Column("old_passed", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=True),
        sa.Column(
            "new_commended", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=True
        ),
        sa.Column("new_passed", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_subject_id"],
            ["subjects.id"],
            name=op.f("fk_assessment_threshold_changes_actor_subject_id_subjects"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_assessment_threshold_changes_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["tokens.id"],
            name=op.f("fk_assessment_threshold_changes_token_id_tokens"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_threshold_changes")),
    )
    with op.batch_alter_table("assessment_threshold_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assessment_threshold_changes_jurisdiction_id_id",
            ["jurisdiction_id", "id"],
            unique=False,
        )

    op.create_table(
        "target_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_subject_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("issuer", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=40), nullable=False),
        sa.Column(
            "old_bound",
            sa.Enum(
                "at_most",
                "at_least",
                name="old_bound",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=True,
        ),
        sa.Column("old_value", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=True),
        sa.Column("old_weight", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=True),
        sa.Column("old_veto", sa.Boolean(), nullable=True),
        sa.Column(
            "new_bound",
            sa.Enum(
                "at_most",
                "at_least",
                name="new_bound",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=True,
        ),
        sa.Column("new_value", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=True),
        sa.Column("new_weight", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=True),
        sa.Column("new_veto", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_subject_id"],
            ["subjects.id"],
            name=op.f("fk_target_changes_actor_subject_id_subjects"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_target_changes_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["tokens.id"], name=op.f("fk_target_changes_token_id_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_changes")),
    )
    with op.batch_alter_table("target_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_target_changes_jurisdiction_id_id", ["jurisdiction_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("target_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_target_changes_jurisdiction_id_id")

    op.drop_table("target_changes")
    with op.batch_alter_table("assessment_threshold_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_assessment_threshold_changes_jurisdiction_id_id")

    op.drop_table("assessment_threshold_changes")
    op.drop_table("targets")
    op.drop_table("assessment_thresholds")
