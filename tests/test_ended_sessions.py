"""Signed-out console sessions: refused until their cookie's end, then forgotten."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from authz.ended_sessions import end_session, session_ended
from authz.models import EndedSession
from core.db.engine import async_engine
from core.db.session import RequestSession


def test_a_session_ends_once_and_is_forgotten_after_its_cookie_expires(
    migrated_url: str,
) -> None:
    now = dt.datetime.now(dt.UTC)

    async def run() -> tuple[bool, bool, bool, int]:
        engine = async_engine(migrated_url)
        try:
            async with async_sessionmaker(engine)() as session:
                db = RequestSession(session)
                await end_session(db, "expired", now - dt.timedelta(seconds=1))
                await end_session(db, "open", now + dt.timedelta(hours=1))
                await end_session(db, "open", now + dt.timedelta(hours=1))
                await db.commit()
            async with async_sessionmaker(engine)() as session:
                db = RequestSession(session)
                # The next sign-out deletes the rows of sessions whose cookies are dead.
                await end_session(db, "another", now + dt.timedelta(hours=1))
                await db.commit()
                rows = await db.scalar(select(func.count()).select_from(EndedSession))
                return (
                    await session_ended(db, "open"),
                    await session_ended(db, "another"),
                    await session_ended(db, "never signed out"),
                    rows or 0,
                )
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == (True, True, False, 2)
