"""Engines for a database URL: synchronous for the CLI's bulk work, async for the server."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.db.sqlite_driver import mark_point_reads, one_hand_off_dbapi

SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg_async"}


# Execution option for a session's connection: its transaction is going to write.
SQLITE_WRITE = "quhua_sqlite_write"


class UnsupportedDatabaseError(ValueError):
    pass


def _with_driver(url: str | URL, drivers: dict[str, str]) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise UnsupportedDatabaseError(
            f"database URL {parsed.render_as_string(hide_password=True)!r}: "
            f"only sqlite and postgresql are supported"
        )
    return parsed.set(drivername=drivers[backend])


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside one writer; the busy timeout makes a second writer
        # wait for the first instead of failing at once.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # The sqlite3 module opens transactions only before DML, so DDL such as a staging
        # table would run outside them; let SQLAlchemy's BEGIN below open every transaction.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A transaction that will write takes the write lock at once (BEGIN IMMEDIATE):
        # a deferred one that read first fails with "database is locked", without waiting,
        # when another writer committed since its read.
        if connection.get_execution_options().get(SQLITE_WRITE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # A deferred BEGIN takes no lock and cannot fail for another connection: straight
        # to the driver, without SQLAlchemy's execution around it (its events, a result),
        # which cost a read request more than the statement.
        cursor = connection.connection.cursor()
        try:
            cursor.execute("BEGIN")
        finally:
            cursor.close()


def sync_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Return a synchronous engine for the URL, whatever driver it names."""
    engine = create_engine(_with_driver(url, SYNC_DRIVERS), **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def async_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """Return an asyncio engine for the URL, whatever driver it names."""
    url = _with_driver(url, ASYNC_DRIVERS)
    if url.get_backend_name() == "sqlite":
        # aiosqlite, with one hand-off to its thread a statement (core.db.sqlite_driver).
        kwargs.setdefault("module", one_hand_off_dbapi())
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine.sync_engine)
        mark_point_reads(engine.sync_engine)
    return engine
