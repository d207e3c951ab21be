"""change_sets: who, when, why and from where, once per request or file; value_changes keep
old, new and the file's line

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUBJECT_FK = "fk_value_changes_actor_subject_id_subjects"
_SET_FK = "fk_value_changes_change_set_id_change_sets"


def _set_columns() -> list[sa.Column[object]]:
    """Who, when, why and from where: on every change before, on its change set after."""
    return [
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_subject_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
    ]


_SET_COLUMNS = [column.name for column in _set_columns()]


def _tables() -> tuple[sa.TableClause, sa.TableClause]:
    changes = sa.table(
        "value_changes",
        sa.column("id", sa.Integer()),
        sa.column("change_set_id", sa.Integer()),
        sa.column("line", sa.Integer()),
        *(sa.column(c.name, c.type) for c in _set_columns()),
    )
    sets = sa.table(
        "change_sets",
        sa.column("id", sa.Integer()),
        *(sa.column(c.name, c.type) for c in _set_columns()),
    )
    return changes, sets


def upgrade() -> None:
    op.create_table(
        "change_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        *_set_columns(),
        sa.ForeignKeyConstraint(
            ["actor_subject_id"],
            ["subjects.id"],
            name=op.f("fk_change_sets_actor_subject_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_sets")),
    )
    changes, sets = _tables()
    c = changes.c
    # "import FILE:LINE" was written per value: the file goes to the change set, the line
    # stays with the change.
    file = sa.func.rtrim(c.source, "0123456789")
    imported = sa.and_(c.source.like("import %"), file != c.source, file.like("%:"))
    source = sa.case(
        (imported, sa.func.substr(c.source, 1, sa.func.length(file) - 1)), else_=c.source
    )
    line = sa.case(
        (imported, sa.cast(sa.func.substr(c.source, sa.func.length(file) + 1), sa.Integer))
    )
    # One change set per request or file: its changes share the moment, the actor, the
    # reason and the source.
    sets_of_changes = sa.select(c.at, c.actor_subject_id, c.actor, c.reason, source).distinct()
    op.execute(sets.insert().from_select(_SET_COLUMNS, sets_of_changes))
    op.create_index("ix_change_sets_at", "change_sets", ["at"])
    with op.batch_alter_table("value_changes") as batch:
        batch.add_column(sa.Column("change_set_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("line", sa.Integer(), nullable=True))
    s = sets.c
    own_set = (
        sa.select(sa.func.min(s.id))
        .where(
            s.at == c.at,
            s.actor_subject_id.is_not_distinct_from(c.actor_subject_id),
            s.actor == c.actor,
            s.reason == c.reason,
            s.source == source,
        )
        .scalar_subquery()
    )
    op.execute(changes.update().values(change_set_id=own_set, line=line))
    op.drop_index("ix_change_sets_at", "change_sets")
    with op.batch_alter_table("value_changes") as batch:
        batch.alter_column("change_set_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(op.f(_SET_FK), "change_sets", ["change_set_id"], ["id"])
        batch.drop_constraint(op.f(_SUBJECT_FK), type_="foreignkey")
        for name in _SET_COLUMNS:
            batch.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("value_changes") as batch:
        for column in _set_columns():
            batch.add_column(sa.Column(column.name, column.type, nullable=True))
    changes, sets = _tables()
    c, s = changes.c, sets.c

    def of_set(column: sa.ColumnElement[object]) -> sa.ScalarSelect[object]:
        return sa.select(column).where(s.id == c.change_set_id).scalar_subquery()

    line = sa.case((c.line.is_not(None), sa.literal(":") + sa.cast(c.line, sa.Text)), else_="")
    values = {name: of_set(s[name]) for name in _SET_COLUMNS}
    values["source"] = of_set(s.source + line)
    op.execute(changes.update().values(**values))
    with op.batch_alter_table("value_changes") as batch:
        for column in _set_columns():
            if not column.nullable:
                batch.alter_column(column.name, existing_type=column.type, nullable=False)
        batch.create_foreign_key(op.f(_SUBJECT_FK), "subjects", ["actor_subject_id"], ["id"])
        batch.drop_constraint(op.f(_SET_FK), type_="foreignkey")
        batch.drop_column("change_set_id")
        batch.drop_column("line")
    op.drop_table("change_sets")
