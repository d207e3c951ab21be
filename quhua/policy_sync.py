"""Keeping each server process's view of grants and tokens fresh: a short poll."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authz.authentication import Authenticator
from core.db.outage import database_unavailable
from core.db.session import IN_BACKGROUND, RequestSession

logger = logging.getLogger("quhua.policy")


async def sync_once(
    sessions: async_sessionmaker[AsyncSession], authenticator: Authenticator
) -> None:
    """Drop cached principals if the policy moved; write pending token last-used times."""
    async with sessions() as session:
        db = RequestSession(session, IN_BACKGROUND)
        try:
            if authenticator.has_pending_usage:
                await db.begin_writing()
                await authenticator.flush_usage(db)
                await db.commit()
            await authenticator.refresh(db)
        finally:
            await db.end()


async def keep_in_sync(
    sessions: async_sessionmaker[AsyncSession],
    authenticator: Authenticator,
    period: float,
    stop: asyncio.Event,
) -> None:
    """Run sync_once every period seconds until stop is set; a failed round is logged.
    A round that lost its database (a restart, a connection ended from outside) is an
    outage the next round retries, not a fault: a warning, without the stack.

    Stopping waits for the round under way instead of cancelling it half-way through a
    transaction.
    """
    while True:
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=period)
        if stop.is_set():
            return
        try:
            await sync_once(sessions, authenticator)
        except Exception as error:
            if database_unavailable(error):
                logger.warning(
                    "policy sync: the database is unavailable (%s); retrying in %.2f s",
                    type(error.__cause__ or error).__name__,
                    period,
                )
            else:
                logger.exception("policy sync failed; retrying in %.2f s", period)
