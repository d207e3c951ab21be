"""rollups, rollup_reports: no foreign keys, the store being derived from data_values

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 09:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referenced table): every row of the store is summed from data_values,
# whose own foreign keys hold these. PostgreSQL checked each again, one trigger call per
# row and key, more than half the time spent writing the store.
_KEYS = [
    ("rollups", "unit_id", "jurisdictions"),
    ("rollups", "combo_id", "option_combos"),
    ("rollup_reports", "unit_id", "jurisdictions"),
    ("rollup_reports", "element_id", "data_elements"),
]


def _name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def upgrade() -> None:
    for table in ("rollups", "rollup_reports"):
        with op.batch_alter_table(table) as batch:
            for owner, column, referred in _KEYS:
                if owner == table:
                    batch.drop_constraint(_name(owner, column, referred), type_="foreignkey")


def downgrade() -> None:
    for table in ("rollups", "rollup_reports"):
        with op.batch_alter_table(table) as batch:
            for owner, column, referred in _KEYS:
                if owner == table:
                    name = _name(owner, column, referred)
                    batch.create_foreign_key(name, referred, [column], ["id"])
