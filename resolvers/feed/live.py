"""The change feed pushed as it commits: pages of the feed, each read in a session of its
own that ends before the page is sent, so that a subscriber holds no transaction, no lock
and no stale figure between pages, however long it stays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager, nullcontext

from authz.roles import Action
from indicators.feed.changes import moved_since
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


@asynccontextmanager
async def _page(context: Context) -> AsyncIterator[Context]:
    """The context one page works in: its own over a socket; else the caller's, whose
    loaders are emptied and transaction ended after the page."""
    if context.page_context is not None:
        async with context.page_context() as page:
            yield page
            # What the page loaded stays readable once its session has ended.
            page.session.detach()
        return
    try:
        yield context
    finally:
        context.session.detach()
        context.forget()
        await context.session.rollback()


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
) -> AsyncGenerator[ChangesResult, None]:
    """Every page with a change or a reset, from the cursor (from now, without one), for as
    long as the subscriber stays. Checked as `changes` is, on every page, as the caller is
    then: a token revoked or a grant taken back ends the subscription there. Over a socket,
    it holds one of the caller's subscription slots while it runs."""
    slots = context.subscription_slots
    principal = context.principal
    if slots is not None and principal is None:
        # A socket without a caller: refused (UNAUTHENTICATED) before a page opens a session.
        context.scope(Action.READ_TREE)
    held = slots.taken(principal.subject_id) if slots and principal else nullcontext()
    with held:
        cursor = after
        checked = False
        while True:
            async with _page(context) as page:
                if cursor is None:
                    cursor = await feed_head(page)
                found = None
                # The first page checks the arguments and the caller; after it, a follower at
                # the head reads the clock alone until it moves.
                if not checked or await moved_since(page.session, cursor):
                    found = await changes(
                        page,
                        under=under,
                        level=level,
                        period_type=period_type,
                        after=cursor,
                        first=None,
                        elements=elements,
                        indicators=indicators,
                    )
                    checked = True
            if found is not None:
                if found.changes or found.resets:
                    yield found
                cursor = found.end_cursor
                if found.has_more:
                    continue
            await COMMITS.wait(poll_seconds)
