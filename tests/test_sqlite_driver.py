"""The SQLite adapter of the asyncio engine: what SQLAlchemy reads of a statement is right,
and a statement costs one hand-off to the connection's thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.engine import async_engine


@asynccontextmanager
async def engine_of(path: Path) -> AsyncIterator[AsyncEngine]:
    engine = async_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        await engine.dispose()


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the calls handed to aiosqlite's thread from now on."""
    handed: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
        handed.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return handed


def test_a_statement_is_one_hand_off_and_reads_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def run() -> None:
        async with engine_of(tmp_path / "driver.sqlite3") as engine:
            async with engine.begin() as connection:
                await connection.execute(
                    text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
                )
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
