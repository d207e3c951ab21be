"""The SQLite adapter of the asyncio engine: what SQLAlchemy reads of a statement is right,
a statement costs one hand-off to the connection's thread at most, and what never waits
(a deferred BEGIN, a ROLLBACK, a point read the database lets through) costs none."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import column, select, table, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from core.db.engine import SQLITE_WRITE, async_engine
from core.db.sqlite_driver import CountedConnection, _run, _run_at_once, one_hand_off_dbapi
from core.db.statements import point_read


@asynccontextmanager
async def engine_of(path: Path) -> AsyncIterator[AsyncEngine]:
    engine = async_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        await engine.dispose()


async def _make_t(engine: AsyncEngine, *names: str) -> None:
    """Table t, holding these names."""
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        for name in names:
            await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), {"name": name})


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the calls handed to aiosqlite's thread from now on."""
    handed: list[str] = []
    original = CountedConnection._execute

    async def counted(
        self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        handed.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(CountedConnection, "_execute", counted)
    return handed


def test_a_statement_is_one_hand_off_and_reads_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def run() -> None:
        async with engine_of(tmp_path / "driver.sqlite3") as engine:
            await _make_t(engine)
            handed = _counting(monkeypatch)
            async with engine.begin() as connection:
                before = len(handed)
                inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
                assert len(handed) == before + 1
                assert inserted.lastrowid == 1 and inserted.rowcount == 1
                many = await connection.execute(
                    text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}]
                )
                assert many.rowcount == 2
                returned = await connection.execute(
                    text("INSERT INTO t (name) VALUES ('d') RETURNING id, name")
                )
                assert [tuple(row) for row in returned] == [(4, "d")]
                updated = await connection.execute(text("UPDATE t SET name = name || '!'"))
                assert updated.rowcount == 4
                before = len(handed)
                read = await connection.execute(text("SELECT id, name FROM t ORDER BY id"))
                assert len(handed) == before + 1
                assert list(read.keys()) == ["id", "name"]
                assert [row.name for row in read] == ["a!", "b!", "c!", "d!"]
            # A connection with no transaction open: its rollback (the pool's reset) and
            # commit hand off nothing.
            async with engine.connect() as connection:
                before = len(handed)
                await connection.rollback()
                await connection.commit()
                assert len(handed) == before

    asyncio.run(run())


def test_errors_are_sqlites_and_leave_the_connection_usable(tmp_path: Path) -> None:
    async def run() -> None:
        async with engine_of(tmp_path / "errors.sqlite3") as engine:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (name TEXT UNIQUE)"))
                await connection.execute(text("INSERT INTO t VALUES ('a')"))
            async with engine.connect() as connection:
                with pytest.raises(IntegrityError, match="UNIQUE"):
                    await connection.execute(text("INSERT INTO t VALUES ('a')"))
                await connection.rollback()
                with pytest.raises(OperationalError, match="no such table"):
                    await connection.execute(text("SELECT * FROM missing_table"))
                await connection.rollback()
                count = await connection.scalar(text("SELECT count(*) FROM t"))
                assert count == 1

    asyncio.run(run())


def test_streamed_results_still_arrive_whole(tmp_path: Path) -> None:
    async def run() -> None:
        async with engine_of(tmp_path / "stream.sqlite3") as engine:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (n INTEGER)"))
                await connection.execute(
                    text("INSERT INTO t VALUES (:n)"), [{"n": n} for n in range(1000)]
                )
            async with engine.connect() as connection:
                stream = await connection.stream(text("SELECT n FROM t ORDER BY n"))
                seen = [row.n async for row in stream]
                assert seen == list(range(1000))

    asyncio.run(run())


T = table("t", column("id"), column("name"))


def test_what_never_waits_is_not_handed_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def run() -> None:
        async with engine_of(tmp_path / "never-waits.sqlite3") as engine:
            await _make_t(engine, "a", "b")
            handed = _counting(monkeypatch)
            # A read request: BEGIN, point reads, ROLLBACK, none of them handed off.
            async with engine.connect() as connection:
                one = await connection.execute(point_read(select(T).where(T.c.name == "b")))
                assert [tuple(row) for row in one] == [(2, "b")]
                raw = await connection.get_raw_connection()
                assert raw.driver_connection._connection.in_transaction
                await connection.rollback()
                assert not raw.driver_connection._connection.in_transaction
                assert handed == []
                # A read not marked as a point read may scan: it goes to the thread.
                scanned = await connection.execute(select(T).order_by(T.c.id))
                assert [row.name for row in scanned] == ["a", "b"]
                assert handed == ["_run"]
            # A transaction that wrote rolls back in the thread (it may play a journal
            # back: temporary tables keep one).
            handed.clear()
            async with engine.connect() as connection:
                await connection.execute(text("CREATE TEMPORARY TABLE scratch (n INTEGER)"))
                await connection.rollback()
                assert handed == ["_run", "rollback"]
            # A transaction that writes takes the write lock (it may wait: the thread's)
            # and commits in the thread.
            handed.clear()
            async with engine.connect() as connection:
                writing = await connection.execution_options(**{SQLITE_WRITE: True})
                async with writing.begin():
                    await writing.execute(text("INSERT INTO t (name) VALUES ('c')"))
                assert handed == ["_run", "_run", "commit"]
            async with engine.connect() as connection:
                count = await connection.scalar(point_read(select(text("count(*)")).select_from(T)))
                assert count == 3

    asyncio.run(run())


def test_a_point_read_the_database_holds_up_is_left_to_the_thread(tmp_path: Path) -> None:
    """Another connection holding the database exclusively makes a reader wait: on the
    event loop the point read does not wait (nor fail), it says to hand it off, and the
    connection's busy timeout is kept for the thread."""
    path = tmp_path / "held.sqlite3"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    setup.execute("INSERT INTO t (name) VALUES ('a')")
    setup.close()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # Exclusive locking mode keeps the lock until the connection closes.
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO t (name) VALUES ('b')")
    holder.execute("COMMIT")

    async def run() -> None:
        # As SQLAlchemy connects: the connection may be used from the event loop too.
        async with aiosqlite.connect(path, timeout=20, check_same_thread=False) as reader:
            started = time.monotonic()
            assert _run_at_once(reader, "SELECT name FROM t ORDER BY id", None) is None
            assert time.monotonic() - started < 1
            waits = await (await reader.execute("PRAGMA busy_timeout")).fetchone()
            assert waits == (20000,)
            # Handed off, the read waits out the holder.
            threading.Timer(0.3, holder.close).start()
            outcome = await reader._execute(_run, reader, "SELECT name FROM t ORDER BY id", None)
            assert outcome[3] == [("a",), ("b",)]
            # Now nothing holds it up: on the loop.
            outcome = _run_at_once(reader, "SELECT count(*) FROM t", None)
            assert outcome is not None and outcome[3] == [(2,)]

    try:
        asyncio.run(run())
    finally:
        holder.close()


def test_a_rollback_waits_behind_a_write_still_in_the_thread(tmp_path: Path) -> None:
    """A write whose caller was cancelled still runs in the thread; the rollback that
    follows must run after it there (on the loop it would overtake it, and the write
    would then commit on its own)."""
    path = tmp_path / "behind.sqlite3"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    setup.close()
    slow = (
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000000) "
        "SELECT count(*) FROM c"
    )

    async def run() -> None:
        dbapi = one_hand_off_dbapi()
        adapted = await greenlet_spawn(
            dbapi.connect, str(path), isolation_level=None, check_same_thread=False
        )
        connection = adapted._connection
        assert isinstance(connection, CountedConnection) and connection.idle
        connection._conn.execute("BEGIN")
        busy = asyncio.ensure_future(connection._execute(_run, connection, slow, None))
        write = asyncio.ensure_future(
            connection._execute(_run, connection, "INSERT INTO t (name) VALUES ('late')", None)
        )
        await asyncio.sleep(0.05)
        busy.cancel()
        write.cancel()
        assert not connection.idle
        await greenlet_spawn(adapted.rollback)
        # Queued behind all of it: once closed, the thread is done with the write.
        await greenlet_spawn(adapted.close)

    asyncio.run(run())
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM t").fetchone() == (0,)
    check.close()


def test_an_in_memory_database_reads_on_the_loop_too(monkeypatch: pytest.MonkeyPatch) -> None:
    async def run() -> None:
        engine = async_engine("sqlite://")
        try:
            await _make_t(engine, "a")
            handed = _counting(monkeypatch)
            async with engine.connect() as connection:
                found = await connection.scalar(point_read(select(T.c.name)))
                assert found == "a"
                await connection.rollback()
            assert handed == []
        finally:
            await engine.dispose()

    asyncio.run(run())
