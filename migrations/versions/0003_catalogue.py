"""catalogue: categories, options, data elements, option combos, indicators

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 14:43:41.602866
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_categories_code")),
    )
    op.create_table(
        "data_elements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "value_type",
            sa.Enum(
                "integer",
                "amount",
                name="value_type",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "period_type",
            sa.Enum(
                "month",
                "quarter",
                "year",
                name="period_type",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "time_aggregation",
            sa.Enum(
                "sum",
                "last",
                "average",
                name="time_aggregation",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("reported_at", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_elements")),
        sa.UniqueConstraint("code", name=op.f("uq_data_elements_code")),
    )
    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("numerator", sa.Text(), nullable=False),
        sa.Column("denominator", sa.Text(), nullable=False),
        sa.Column("factor", sa.Numeric(precision=20, scale=6, asdecimal=False), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("annualize", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
        sa.UniqueConstraint("code", name=op.f("uq_indicators_code")),
    )
    op.create_table(
        "category_options",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_category_options_category_id_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_options")),
        sa.UniqueConstraint("category_id", "code", name="category_code"),
    )
    op.create_table(
        "element_categories",
        sa.Column("element_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_element_categories_category_id_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["element_id"],
            ["data_elements.id"],
            name=op.f("fk_element_categories_element_id_data_elements"),
        ),
        sa.PrimaryKeyConstraint("element_id", "category_id", name=op.f("pk_element_categories")),
    )
    op.create_table(
        "option_combos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("element_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["element_id"],
            ["data_elements.id"],
            name=op.f("fk_option_combos_element_id_data_elements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_option_combos")),
        sa.UniqueConstraint("element_id", "key", name="element_key"),
    )


def downgrade() -> None:
    op.drop_table("option_combos")
    op.drop_table("element_categories")
    op.drop_table("category_options")
    op.drop_table("indicators")
    op.drop_table("data_elements")
    op.drop_table("categories")
