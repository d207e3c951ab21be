"""Marks a repository puts on its statements, for the engines to act on."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select

# Execution option: the statement is a point read (see `point_read`).
POINT_READ = "quhua_point_read"

Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])


def point_read(statement: Query) -> Query:
    """Mark a read of a few rows: an indexed lookup by key or code, or a small table read
    whole (the catalogue's), never a scan of values or of the tree.

    On SQLite it runs on the event loop instead of being handed to the driver's thread,
    which costs more than the lookup itself (core.db.sqlite_driver); elsewhere it changes
    nothing.
    """
    return statement.execution_options(**{POINT_READ: True})
