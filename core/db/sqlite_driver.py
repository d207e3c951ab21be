"""SQLite for the asyncio engine: aiosqlite's thread, one hand-off a statement.

SQLAlchemy's aiosqlite adapter hands four calls to the connection's thread for each
statement (make a cursor, execute, fetch, close), and each hand-off is a thread switch,
costing more than a small indexed read itself. Here a statement makes, runs, drains and
closes its sqlite3 cursor in one hand-off, and keeps what SQLAlchemy reads afterwards
(description, rowcount, lastrowid, the rows). A rollback with no transaction open, as the
pool's reset after the request's own rollback, hands off nothing.

What holds: a statement still runs in the connection's own thread, in order, under the
adapter's mutex, so that SQLite never blocks the event loop and a busy writer's wait
(busy_timeout) is the thread's; errors are sqlite3's, mapped by SQLAlchemy as before.
Server-side cursors (streamed results) keep aiosqlite's own cursor.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# What a statement leaves for SQLAlchemy to read: description, rowcount, lastrowid, rows.
_Outcome = tuple[Any, int, int | None, list[Any]]


def _run(
    connection: aiosqlite.Connection, operation: str, parameters: Sequence[Any] | None
) -> _Outcome:
    """In the connection's thread: the whole life of one cursor."""
    cursor = connection._conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _run_many(
    connection: aiosqlite.Connection, operation: str, parameters: Sequence[Sequence[Any]]
) -> _Outcome:
    cursor = connection._conn.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, cursor.rowcount, cursor.lastrowid, []
    finally:
        cursor.close()


class OneHandOffCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement is one hand-off to the connection's thread."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")
    # Its sqlite3 cursor is closed before the statement returns: nothing to close later.
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: Any) -> None:
        # No cursor is made here (the base class would hand off to make one).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def _keep(self, outcome: _Outcome) -> None:
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            self._keep(
                await self._connection._execute(_run, self._connection, operation, parameters)
            )

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            self._keep(
                await self._connection._execute(
                    _run_many, self._connection, operation, seq_of_parameters
                )
            )


class OneHandOffConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    _cursor_cls = OneHandOffCursor

    # Nothing to end, nothing handed off (sqlite3 itself would do nothing there).
    def rollback(self) -> None:
        driver: sqlite3.Connection | None = self._connection._connection
        if driver is not None and not driver.in_transaction:
            return
        super().rollback()

    def commit(self) -> None:
        driver: sqlite3.Connection | None = self._connection._connection
        if driver is not None and not driver.in_transaction:
            return
        super().commit()


class OneHandOffDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module for `create_async_engine(..., module=...)` on SQLite."""

    def connect(self, *arg: Any, **kw: Any) -> OneHandOffConnection:
        creator = kw.pop("async_creator_fn", None)
        if creator is not None:
            connection = creator(*arg, **kw)
        else:
            connection = self.aiosqlite.connect(*arg, **kw)
            # As SQLAlchemy's own adapter: a daemon thread does not hold the process at exit.
            connection._thread.daemon = True
        return OneHandOffConnection(self, await_(connection))


def one_hand_off_dbapi() -> OneHandOffDBAPI:
    return OneHandOffDBAPI(aiosqlite, sqlite3)
