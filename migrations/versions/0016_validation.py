"""validation_rules and validation_violations: the catalogue's rules and where they fail

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("resolved_at IS NULL")


def _choice(
    column: str, name: str, values: Sequence[str], length: int
) -> tuple[sa.Column[str], sa.CheckConstraint]:
    listed = ", ".join(f"'{value}'" for value in values)
    return (
        sa.Column(column, sa.String(length=length), nullable=False),
        sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_validation_rules_{name}")),
    )


def upgrade() -> None:
    op.create_table(
        "validation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("left_side", sa.Text(), nullable=False),
        sa.Column("right_side", sa.Text(), nullable=False),
        *_choice(
            "operator",
            "validation_operator",
            ["==", "!=", "<", "<=", ">", ">=", "compulsory_pair", "exclusive_pair"],
            20,
        ),
        *_choice("importance", "importance", ["low", "medium", "high"], 20),
        *_choice("period_type", "period_type", ["month", "quarter", "year"], 20),
        sa.Column("levels", sa.String(length=60), nullable=False),
        *_choice(
            "missing_value_strategy",
            "missing_value_strategy",
            ["skip_if_any_value_missing", "skip_if_all_values_missing", "never_skip"],
            30,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_rules")),
        sa.UniqueConstraint("code", name=op.f("uq_validation_rules_code")),
    )
    op.create_table(
        "validation_violations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=False),
        sa.Column("left_value", sa.Double(), nullable=True),
        sa.Column("right_value", sa.Double(), nullable=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["validation_rules.id"],
            name=op.f("fk_validation_violations_rule_id_validation_rules"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_validation_violations_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_violations")),
    )
    op.create_index(
        "ix_validation_violations_open",
        "validation_violations",
        ["rule_id", "jurisdiction_id", "span", "month_index"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_index(
        "ix_validation_violations_unit_open",
        "validation_violations",
        ["jurisdiction_id", "month_index"],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_validation_violations_unit_open", table_name="validation_violations")
    op.drop_index("ix_validation_violations_open", table_name="validation_violations")
    op.drop_table("validation_violations")
    op.drop_table("validation_rules")
