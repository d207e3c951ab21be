"""The database session a request works in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Executable, Result, Row
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import Select

from core.db.engine import SQLITE_WRITE
from core.db.routed_session import RoutedSession

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# Every statement of a request carries this option, so that checks can tell them apart
# from background work (which passes its own).
IN_REQUEST = {"quhua_request": True}
IN_BACKGROUND = {"quhua_background": True}


class RequestSession:
    """One AsyncSession per request, used by one coroutine at a time.

    GraphQL resolves sibling fields concurrently and several DataLoaders may dispatch in the
    same tick; an AsyncSession refuses concurrent use, so every statement takes a lock. The
    locked work is shielded: when GraphQL cancels a field (a sibling failed), a statement
    already sent runs to its end instead of leaving the connection half-way, which would
    break every later statement of the request.
    Commit and rollback belong to whoever opened the session (the request boundary), and
    so does `end`, which it awaits before closing the AsyncSession.
    """

    def __init__(self, session: AsyncSession, options: Mapping[str, Any] = IN_REQUEST) -> None:
        self._session = session
        self._options = dict(options)
        self._lock = asyncio.Lock()
        self._running: set[asyncio.Future[Any]] = set()
        # Set by `end`: a statement asked later is refused before it touches the session.
        self._ended = False
        # Whether this session sent any write: the request boundary then commits and lets
        # whatever caches what was written know.
        self.wrote = False
        # Whether a write was refused (all or nothing: the request boundary rolls back).
        self.refused = False
        # Whether the transaction was opened for writing (SQLite: holds the write lock).
        self._writing = False
        self._before_commit: list[Executable] = []

    @property
    def dialect(self) -> str:
        """The database's dialect name: sqlite or postgresql."""
        bind = self._session.bind
        return bind.dialect.name if bind is not None else ""

    async def _serial(self, work: Callable[[], Awaitable[T]]) -> T:
        if self._ended:
            # A DataLoader's batch is dispatched a loop tick after the field that asked for
            # it, and runs even when GraphQL cancelled that field: it would begin checking
            # out a connection while the request closes the session (SQLAlchemy then
            # refuses the close and the connection leaks). Nobody waits for its answer.
            raise asyncio.CancelledError("the request has ended; its session takes no statements")

        async def locked() -> T:
            async with self._lock:
                return await work()

        task = asyncio.ensure_future(locked())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def settle(self) -> None:
        """Wait for statements still running for cancelled callers (before a commit).
        Waiting never cancels them (as a gather would, cancelled): a statement stopped
        half-way, or a connection stopped half-made, would be left to the collector."""
        while self._running:
            await asyncio.wait(set(self._running))

    async def end(self) -> None:
        """Refuse statements from now on and wait for those running: after this, and only
        after this, the AsyncSession may be closed. Cancelled meanwhile (a socket closing
        on a page that was itself cancelled), it still waits them out, then says so."""
        self._ended = True
        cancelled: asyncio.CancelledError | None = None
        while self._running:
            try:
                await self.settle()
            except asyncio.CancelledError as error:
                cancelled = error
        if cancelled is not None:
            raise cancelled

    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Result[Any]:
        if not isinstance(statement, Select):
            self.wrote = True
        return await self._serial(
            lambda: self._session.execute(statement, params, execution_options=self._options)
        )

    async def rows(
        self, statement: Select[*Ts], params: Mapping[str, Any] | None = None
    ) -> Sequence[Row[*Ts]]:
        async def work() -> Sequence[Row[*Ts]]:
            result = await self._session.execute(statement, params, execution_options=self._options)
            return result.all()

        return await self._serial(work)

    async def scalars(
        self, statement: Select[T], params: Mapping[str, Any] | None = None
    ) -> Sequence[T]:
        async def work() -> Sequence[T]:
            result = await self._session.scalars(statement, params, execution_options=self._options)
            return result.all()

        return await self._serial(work)

    async def scalar(
        self, statement: Select[T], params: Mapping[str, Any] | None = None
    ) -> T | None:
        return await self._serial(
            lambda: self._session.scalar(statement, params, execution_options=self._options)
        )

    async def add(self, instance: object) -> None:
        """Add a new object and send its INSERT now, so that its id is known."""
        self.wrote = True

        async def work() -> None:
            self._session.add(instance)
            await self._session.flush()

        await self._serial(work)

    async def begin_writing(self) -> None:
        """Start a transaction that is going to write (before anything is written).

        On SQLite it takes the write lock up front, so that concurrent writers queue behind
        the busy timeout instead of failing; elsewhere it changes nothing.
        """

        if self.dialect != "sqlite" or self._writing:
            # A batch's second mutation goes on in the transaction the first opened: rolling
            # back to reopen it would silently drop the first one's writes.
            return
        if self.wrote:
            raise RuntimeError("begin_writing after a write: the write lock came too late")

        async def work() -> None:
            await self._end_reads()
            await self._session.connection(execution_options={SQLITE_WRITE: True})

        await self._serial(work)
        self._writing = True

    async def read_from(self, engine: AsyncEngine | None) -> None:
        """Send the session's next transaction to `engine` (a read replica), or with None
        back to the session's own engine. Only before the request writes anything."""
        routed = self._session.sync_session
        if not isinstance(routed, RoutedSession):
            raise RuntimeError("read_from needs a session made with RoutedSession")
        if self.wrote:
            raise RuntimeError("read_from after a write: the write would be lost")

        async def work() -> None:
            await self._end_reads()
            routed.route = engine.sync_engine if engine is not None else None

        await self._serial(work)

    async def _end_reads(self) -> None:
        if self._session.in_transaction():
            # Only reads happened; objects already loaded stay usable, detached, instead
            # of being expired by the rollback.
            self._session.expunge_all()
            await self._session.rollback()

    def before_commit(self, statements: Sequence[Executable]) -> None:
        """Statements to run just before this transaction commits, after everything else
        the request does (a batch's later operations included): a lock they take is held
        from there to the commit only."""
        self._before_commit.extend(statements)

    async def commit(self) -> None:
        async def work() -> None:
            for statement in self._before_commit:
                await self._session.execute(statement, execution_options=self._options)
            await self._session.commit()

        try:
            await self._serial(work)
        finally:
            self._before_commit.clear()
            self._writing = False

    async def rollback(self) -> None:
        self._before_commit.clear()
        await self._serial(self._session.rollback)
        self._writing = False

    def detach(self) -> None:
        """Keep what was loaded usable once the session ends (a rollback would expire it)."""
        self._session.expunge_all()
