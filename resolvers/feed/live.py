"""The change feed pushed as it commits: pages of the feed, polled on the subscriber's
session, each read ending its transaction so that the next sees later commits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from indicators.periods import PeriodType
from resolvers.context import Context
from resolvers.feed.changes import ChangesResult, changes, feed_head
from tenancy.levels import Level

POLL_SECONDS = 0.5


class CommitSignal:
    """Wakes this process's subscribers when a request of this process commits, so that
    they need not wait for their next poll; commits of other processes are found by polling.
    Safe across event loops and threads: each waiter is woken on its own loop."""

    def __init__(self) -> None:
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        for loop, event in list(self._waiters):
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def wait(self, seconds: float) -> None:
        """Until the next commit of this process, or the seconds pass."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter[1].wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)


COMMITS = CommitSignal()


async def follow(
    context: Context,
    *,
    under: str,
    level: Level,
    period_type: PeriodType,
    after: str | None,
    elements: list[str] | None,
    indicators: list[str] | None,
    poll_seconds: float = POLL_SECONDS,
) -> AsyncIterator[ChangesResult]:
    """Every page with a change or a reset, from the cursor (from now, without one), for as
    long as the subscriber stays. Checked as `changes` is, before the first page."""
    cursor = after if after is not None else await feed_head(context)
    while True:
        # Figures and the catalogue are read afresh for each page.
        context.forget()
        found = await changes(
            context,
            under=under,
            level=level,
            period_type=period_type,
            after=cursor,
            first=None,
            elements=elements,
            indicators=indicators,
        )
        if found.changes or found.resets:
            # Served before the rollback below, which expires the units the page holds.
            yield found
        # A subscription may stay for days: it holds no snapshot and no lock between pages.
        await context.session.rollback()
        cursor = found.end_cursor
        if not found.has_more:
            await COMMITS.wait(poll_seconds)
