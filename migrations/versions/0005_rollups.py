"""rollups: the maintained store of partial aggregates, and expected reporters per subtree

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 16:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVEL = sa.Enum(
    "province",
    "city",
    "county",
    "township",
    "village",
    name="level",
    native_enum=False,
    create_constraint=True,
    length=10,
)


def upgrade() -> None:
    op.create_table(
        "subtree_sizes",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("level", LEVEL, nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["jurisdictions.id"], name=op.f("fk_subtree_sizes_unit_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("unit_id", "level", name=op.f("pk_subtree_sizes")),
    )
    op.create_table(
        "rollups",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=False),
        sa.Column("combo_id", sa.Integer(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["combo_id"], ["option_combos.id"], name=op.f("fk_rollups_combo_id_option_combos")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["jurisdictions.id"], name=op.f("fk_rollups_unit_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint(
            "unit_id", "span", "month_index", "combo_id", name=op.f("pk_rollups")
        ),
    )
    op.create_table(
        "rollup_reports",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=False),
        sa.Column("element_id", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["element_id"],
            ["data_elements.id"],
            name=op.f("fk_rollup_reports_element_id_data_elements"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["jurisdictions.id"], name=op.f("fk_rollup_reports_unit_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint(
            "unit_id", "span", "month_index", "element_id", name=op.f("pk_rollup_reports")
        ),
    )
    # The tables start empty, even where a tree and values are held already: revision 0010
    # measures them, with SQL of its own written for the tables as they stand by then. The
    # application's code that once measured them here expects columns that later revisions
    # add.


def downgrade() -> None:
    op.drop_table("rollup_reports")
    op.drop_table("rollups")
    op.drop_table("subtree_sizes")
