"""subtree_sizes: counted by the day units were retired, so that past periods expect them

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
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


def _create(*, by_retirement: bool) -> None:
    keys = ["unit_id", "level", "until"] if by_retirement else ["unit_id", "level"]
    op.create_table(
        "subtree_sizes",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("level", LEVEL, nullable=False),
        *([sa.Column("until", sa.Date(), nullable=False)] if by_retirement else []),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["jurisdictions.id"], name=op.f("fk_subtree_sizes_unit_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint(*keys, name=op.f("pk_subtree_sizes")),
    )


def upgrade() -> None:
    # Derived data: counted again rather than converted, by revision 0010 with the rest
    # of what is derived from the tree and the values.
    op.drop_table("subtree_sizes")
    _create(by_retirement=True)


def downgrade() -> None:
    op.drop_table("subtree_sizes")
    _create(by_retirement=False)
    # The older table counted current units only; its ancestors are its code's prefixes.
    count = sa.text(
        "INSERT INTO subtree_sizes (unit_id, level, units) "
        "SELECT a.id, d.level, count(*) FROM jurisdictions d "
        "JOIN jurisdictions a ON a.code = substr(d.code, 1, :prefix) "
        "WHERE length(d.code) > :prefix AND d.valid_to IS NULL "
        "GROUP BY a.id, d.level"
    )
    for prefix in (2, 4, 6, 9):
        op.get_bind().execute(count, {"prefix": prefix})
