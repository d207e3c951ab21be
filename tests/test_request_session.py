"""The request's session ends cleanly whatever GraphQL left scheduled behind it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.db.engine import async_engine
from core.db.session import RequestSession
from tenancy.models import Jurisdiction
from tenancy.scope import unscoped

CODES = unscoped(select(Jurisdiction.code), why="a test of the session's end")


def test_a_statement_dispatched_after_the_end_is_refused_and_nothing_leaks(
    migrated_url: str,
) -> None:
    """A DataLoader dispatches its batch a loop tick after the field that asked, even when
    GraphQL cancelled that field meanwhile; the batch must not start a statement while the
    request closes the session (SQLAlchemy refuses that close and the connection leaks)."""

    async def run() -> tuple[asyncio.Task[object], int]:
        engine = async_engine(migrated_url)
        try:
            async with async_sessionmaker(engine)() as session:
                db = RequestSession(session)
                await db.scalars(CODES)
                late: list[asyncio.Task[object]] = []
                loop = asyncio.get_running_loop()
                loop.call_soon(lambda: late.append(asyncio.ensure_future(db.scalars(CODES))))
                await db.end()
                # The dispatch runs now, between the end and the close.
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                await asyncio.wait(late)
            return late[0], engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
        finally:
            await engine.dispose()

    task, checked_out = asyncio.run(run())
    assert task.cancelled()
    assert checked_out == 0


def test_statements_running_at_the_end_finish_first(migrated_url: str) -> None:
    async def run() -> list[str]:
        engine = async_engine(migrated_url)
        try:
            async with async_sessionmaker(engine)() as session:
                db = RequestSession(session)
                running = asyncio.ensure_future(db.scalars(CODES))
                await asyncio.sleep(0)
                await db.end()
                assert running.done()
                return list(running.result())
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == []


def test_an_ended_session_refuses_its_callers(migrated_url: str) -> None:
    async def run() -> None:
        engine = async_engine(migrated_url)
        try:
            async with async_sessionmaker(engine)() as session:
                db = RequestSession(session)
                await db.end()
                with pytest.raises(asyncio.CancelledError, match="has ended"):
                    await db.scalar(select(1))
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_cancelling_the_end_cancels_no_statement(migrated_url: str) -> None:
    """A page of a subscription cancelled, then cancelled again while it ends (the socket
    closing): the statement it had sent, even one still making its connection, runs to its
    end and the connection goes back to the pool, not to the garbage collector."""

    async def run() -> tuple[asyncio.Task[object], int]:
        engine = async_engine(migrated_url)
        try:
            async with async_sessionmaker(engine)() as session:
                db = RequestSession(session)
                running = asyncio.ensure_future(db.scalars(CODES))
                await asyncio.sleep(0)
                ending = asyncio.ensure_future(db.end())
                for _ in range(2):
                    await asyncio.sleep(0)
                    ending.cancel()
                await asyncio.wait([ending])
                assert ending.cancelled(), "the end's caller is still told it was cancelled"
                assert running.done()
            return running, engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
        finally:
            await engine.dispose()

    running, checked_out = asyncio.run(run())
    assert not running.cancelled()
    assert list(running.result()) == []
    assert checked_out == 0
