"""Marks a repository puts on its statements, for the engines to act on."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select

# Execution option: the statement is a point read (see `point_read`).
POINT_READ = "quhua_point_read"

Query = TypeVar("Query", bound=Select)  # type: ignore[type-arg]


def point_read(statement: Query) -> Query:
    """Mark an indexed lookup of a bounded number of rows (by key or code, never a scan).

    On SQLite it runs on the event loop instead of being handed to the driver's thread,
    which costs more than the lookup itself (core.db.sqlite_driver); elsewhere it changes
    nothing.
    """
    return statement.execution_options(**{POINT_READ: True})
