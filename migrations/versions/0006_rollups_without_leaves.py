"""rollups: the store leaves out the deepest level, whose figures are its own values

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The tables are unchanged. The villages' rows that a store kept until now go when
    # revision 0010 measures the whole store afresh, without them.
    pass


def downgrade() -> None:
    # The tables are unchanged. The villages' rows are not put back: an older version
    # reading villages from the store finds nothing for them until its store is rebuilt.
    pass
