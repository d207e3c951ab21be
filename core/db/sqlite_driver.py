"""SQLite for the asyncio engine: aiosqlite's thread, one hand-off a statement at most.

SQLAlchemy's aiosqlite adapter hands four calls to the connection's thread for each
statement (make a cursor, execute, fetch, close), and each hand-off is two thread switches,
costing more than a small indexed read itself. Here a statement makes, runs, drains and
closes its sqlite3 cursor in one hand-off, and keeps what SQLAlchemy reads afterwards
(description, rowcount, lastrowid, the rows). What can never wait runs on the event loop
with no hand-off at all:
- a deferred BEGIN (it takes no lock) and the ROLLBACK of a transaction that only read
  (it releases the read lock and nothing else; after a write or a temporary table it may
  play a journal back, and goes to the thread); a rollback with no transaction open does
  nothing;
- a point read (core.db.statements.point_read: a read of a few rows), tried with the busy
  timeout at zero: when the database would make it wait (a reader waits only while
  another connection holds it exclusively or recovers the WAL) it goes to the thread and
  waits there.

Only an idle connection runs anything on the loop: when a hand-off is still queued or
running (its caller was cancelled, say), what follows is handed off too, behind it, so that
a ROLLBACK never overtakes a write it must undo.

What holds: a statement that may wait (BEGIN IMMEDIATE, a write, a COMMIT, a scan) runs in
the connection's own thread, in order, under the adapter's mutex, so that SQLite never
blocks the event loop and a busy writer's wait (busy_timeout) is the thread's; a
connection is used by one statement at a time, whichever thread runs it; errors are
sqlite3's, mapped by SQLAlchemy as before. Server-side cursors (streamed results) keep
aiosqlite's own cursor.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

import aiosqlite
from sqlalchemy import Engine, event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

from core.db.statements import POINT_READ

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


class _CountingQueue:
    """The connection's queue as the loop puts into it (aiosqlite, and SQLAlchemy's
    isolation-level setter, put there directly): counts the calls handed to the thread
    and those finished. Each count is written by one thread only."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        self.handed = 0
        self.done = 0

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item

        def counted() -> Any:
            try:
                return function()
            finally:
                self.done += 1

        self.handed += 1
        self._queue.put_nowait((future, counted))


class CountedConnection(aiosqlite.Connection):
    """aiosqlite's connection, knowing whether its thread has work queued or running."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        # The thread was given the queue itself; the loop's side now counts what it puts.
        self._counts = _CountingQueue(self._tx)
        self._tx = self._counts  # type: ignore[assignment]
        # Whether the transaction open may have written (or made temporary tables, whose
        # journal a rollback plays back): its rollback is then the thread's.
        self.may_have_written = False

    @property
    def idle(self) -> bool:
        """Whether the connection is open and every call handed to its thread has finished."""
        return self._running and self._counts.handed == self._counts.done


# Statements that take no lock and write nothing, run on the event loop.
_NEVER_WAIT = frozenset({"BEGIN"})


def _idle(connection: aiosqlite.Connection) -> bool:
    return isinstance(connection, CountedConnection) and connection.idle


def _note_writes(connection: aiosqlite.Connection, operation: str) -> None:
    """Whether the transaction may have written, after this statement (see CountedConnection)."""
    if not isinstance(connection, CountedConnection):
        return
    if operation in _NEVER_WAIT:
        connection.may_have_written = False
    elif not operation.startswith("SELECT"):
        connection.may_have_written = True


def _on_the_loop(
    connection: aiosqlite.Connection,
    operation: str,
    parameters: Sequence[Any] | None,
    *,
    point_read: bool,
) -> _Outcome | None:
    """The statement run on the event loop, if it can never wait there; else None."""
    if not _idle(connection):
        return None
    if operation in _NEVER_WAIT:
        return _run(connection, operation, parameters)
    if point_read:
        return _run_at_once(connection, operation, parameters)
    return None


def _run_at_once(
    connection: aiosqlite.Connection, operation: str, parameters: Sequence[Any] | None
) -> _Outcome | None:
    """On the event loop: a read, unless the database would make it wait (then None)."""
    driver = connection._conn
    (waits,) = driver.execute("PRAGMA busy_timeout").fetchone()
    driver.execute("PRAGMA busy_timeout=0")
    try:
        return _run(connection, operation, parameters)
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return None
        raise
    finally:
        driver.execute(f"PRAGMA busy_timeout={int(waits)}")


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

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount", "point_read")
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
        # Set by `mark_point_reads` for a statement marked as a point read.
        self.point_read = False

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
        connection = cast(aiosqlite.Connection, self._connection)
        async with self._adapt_connection._execute_mutex:
            _note_writes(connection, operation)
            outcome = _on_the_loop(connection, operation, parameters, point_read=self.point_read)
            if outcome is None:
                outcome = await self._connection._execute(_run, connection, operation, parameters)
            self._keep(outcome)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        _note_writes(cast(aiosqlite.Connection, self._connection), "")
        async with self._adapt_connection._execute_mutex:
            self._keep(
                await self._connection._execute(
                    _run_many, self._connection, operation, seq_of_parameters
                )
            )


class OneHandOffConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    _cursor_cls = OneHandOffCursor

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            # A stream's statement is aiosqlite's to run: not known to be a read.
            _note_writes(cast(aiosqlite.Connection, self._connection), "")
        return super().cursor(server_side)

    def rollback(self) -> None:
        # On the event loop when the transaction only read: the rollback then releases
        # its read lock and nothing else.
        connection = cast(aiosqlite.Connection, self._connection)
        driver: sqlite3.Connection | None = connection._connection
        if driver is None:
            return
        if _idle(connection):
            if not driver.in_transaction:
                return
            if not cast(CountedConnection, connection).may_have_written:
                try:
                    driver.rollback()
                except Exception as error:
                    self._handle_exception(error)
                return
        # In the thread: behind what is still queued (whether a transaction is open is
        # known there), or a rollback that may play a journal back.
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
            # As aiosqlite.connect, with a connection that counts its hand-offs.
            database, *rest = arg
            chunk = kw.pop("iter_chunk_size", 64)
            # One thread at a time uses it (CountedConnection.idle), the loop or aiosqlite's.
            kw["check_same_thread"] = False
            connection = CountedConnection(partial(sqlite3.connect, database, *rest, **kw), chunk)
            # As SQLAlchemy's own adapter: a daemon thread does not hold the process at exit.
            connection._thread.daemon = True
        return OneHandOffConnection(self, await_(connection))


def one_hand_off_dbapi() -> OneHandOffDBAPI:
    return OneHandOffDBAPI(aiosqlite, sqlite3)


def mark_point_reads(engine: Engine) -> None:
    """Let the cursors of this (async) engine's statements know which are point reads."""

    @event.listens_for(engine, "before_cursor_execute")
    def _mark(
        _connection: Any,
        cursor: DBAPICursor,
        _statement: str,
        _parameters: Any,
        context: ExecutionContext | None,
        _many: bool,
    ) -> None:
        if (
            context is not None
            and isinstance(cursor, OneHandOffCursor)
            and context.execution_options.get(POINT_READ)
        ):
            cursor.point_read = True
