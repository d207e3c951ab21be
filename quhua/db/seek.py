"""Joining each row of a batch to the one row an index finds for it, on every database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, FromClause, Join, select, true


def seek_join(
    left: FromClause,
    right: FromClause,
    columns: list[ColumnElement[Any]],
    condition: ColumnElement[bool],
    *,
    dialect: str,
    outer: bool = False,
) -> tuple[Join, list[ColumnElement[Any]]]:
    """`left` joined to the row of `right` meeting `condition` (a unique key), and
    `columns` of `right` as the join exposes them.

    On PostgreSQL the lookup is a LATERAL subquery, which can only be answered row by row
    through an index: for a batch of a few thousand rows, its planner otherwise hashed the
    whole of `right` (all 665,276 units, every stored value), a cost that grew with the
    table instead of the batch. SQLite has no LATERAL and seeks the index anyway.
    """
    if dialect != "postgresql":
        return left.join(right, condition, isouter=outer), columns
    # LIMIT keeps the planner from flattening the subquery into a plain join (and hashing
    # again); `condition` names a unique key, so it drops nothing.
    found = select(*columns).where(condition).limit(1).lateral()
    return left.join(found, true(), isouter=outer), list(found.c)
