"""PostgreSQL streaming replicas for read-only requests, with read-your-writes.

After a caller's write commits on the primary, the primary's WAL insert position is noted
for that caller: it is at or after the end of the commit's record, so a replica whose replay
position has reached it shows the write. A replica serves a caller's reads only once it has;
a caller with nothing noted reads from any replica, with no look at its position. A
replica that cannot be reached or fails a statement is left alone for `retry_seconds`, its
requests served by the primary.

Each note is kept twice: in this process (the least recently written callers going first
past `callers`) and in the primary's `write_positions` (core.db.write_positions), written
just after the commit, which every process reads before it picks a replica for a caller.
So a caller whose next read reaches another worker or machine reads its own write too. A
note that could not be written there (the primary failing just after the commit) holds
in this process only.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.engine import async_engine
from core.db.session import RequestSession
from core.db.write_positions import WritePosition

logger = logging.getLogger("quhua.replicas")

# A replica that does not answer within this long counts as down: the primary serves.
CONNECT_TIMEOUT_SECONDS = 2
# The note of a caller whose commit's position could not be read: past every position, so
# that its reads go to the primary until a later write is noted.
UNREACHABLE = 1 << 64


def wal_position(lsn: str) -> int:
    """A pg_lsn's text (`16/B374D848`) as the number it stands for."""
    high, _, low = lsn.partition("/")
    return int(high, 16) << 32 | int(low, 16)


@dataclass
class Replica:
    engine: AsyncEngine
    # The URL without its password, for the log.
    name: str
    down_until: float = 0.0
    # The furthest replay position seen there: replay only moves on, so a caller whose
    # write lies before it needs no look at the replica.
    replayed: int = 0


class ReadReplicas:
    """The replicas of one server process and the WAL positions of its callers' writes."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        primary_url: str,
        retry_seconds: float,
        callers: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if urls and make_url(primary_url).get_backend_name() != "postgresql":
            raise ValueError("QUHUA_READ_REPLICA_URLS needs a PostgreSQL QUHUA_DATABASE_URL")
        self._replicas = [_replica(url) for url in urls]
        self._retry_seconds = retry_seconds
        self._callers = callers
        self._clock = clock
        self._written: OrderedDict[int, int] = OrderedDict()
        self._turn = 0

    @property
    def enabled(self) -> bool:
        return bool(self._replicas)

    async def choose(self, session: RequestSession, caller: int | None) -> Replica | None:
        """Bind the session, which has written nothing, to a replica that has replayed the
        caller's last write; None when none has (the session stays on the primary)."""
        needed = await self._needed(session, caller) if self._replicas else None
        for replica in self._up():
            await session.read_from(replica.engine)
            if needed is None or needed <= replica.replayed:
                # A replica that is down fails the first statement: the view reads again
                # from the primary.
                return replica
            try:
                rows = await session.rows(
                    select(func.pg_is_in_recovery(), func.pg_last_wal_replay_lsn())
                )
            except DBAPIError as error:
                self.failed(replica, error)
                await session.read_from(None)
                continue
            standby, replayed = rows[0]
            # A server out of recovery (promoted) holds every write it was sent.
            if not standby:
                return replica
            if replayed is not None:
                replica.replayed = max(replica.replayed, wal_position(str(replayed)))
            if replica.replayed >= needed:
                return replica
            await session.read_from(None)
        return None

    async def _needed(self, session: RequestSession, caller: int | None) -> int | None:
        """The position the caller's last write needs, from any process (read on the
        primary); None for a caller with no write noted."""
        if caller is None:
            return None
        try:
            shared = await session.scalar(
                select(WritePosition.position).where(WritePosition.subject_id == caller)
            )
        except DBAPIError as error:
            # The primary cannot say (it is down): this process's own note decides, and a
            # replica still serves the read.
            logger.warning("write positions unreadable on the primary", exc_info=error)
            shared = None
        known = [p for p in (self._written.get(caller), shared) if p is not None]
        return max(known) if known else None

    def failed(self, replica: Replica, error: BaseException) -> None:
        """Leave the replica alone for a while: the primary serves its reads meanwhile."""
        logger.warning(
            "read replica %s failed: reads go elsewhere for %s s",
            replica.name,
            self._retry_seconds,
            exc_info=error,
        )
        replica.down_until = self._clock() + self._retry_seconds
        # It may come back rebuilt from an older backup.
        replica.replayed = 0

    async def note_commit(self, session: RequestSession, caller: int | None) -> None:
        """Note where the primary's WAL is after the caller's commit, read in the session
        that committed (on the primary)."""
        if not self._replicas or caller is None:
            return
        try:
            position = await session.scalar(select(func.pg_current_wal_insert_lsn()))
        except DBAPIError:
            self._note(caller, UNREACHABLE)
            raise
        if position is None:
            self._note(caller, UNREACHABLE)
            return
        self._note(caller, wal_position(str(position)))
        await self._share(session, caller, wal_position(str(position)))

    async def _share(self, session: RequestSession, caller: int, position: int) -> None:
        """Write the note where every process reads it, after the caller's commit. The
        write is committed already: a failure here is logged, never the caller's error."""
        statement = insert(WritePosition).values(subject_id=caller, position=position)
        statement = statement.on_conflict_do_update(
            index_elements=[WritePosition.subject_id],
            # Positions only move on, whichever process's note lands last.
            set_={"position": func.greatest(WritePosition.position, statement.excluded.position)},
        )
        try:
            # Lost in a crash, the note costs only a read from the primary: no flush waited.
            await session.rows(select(func.set_config("synchronous_commit", "off", True)))
            await session.execute(statement)
            await session.commit()
        except DBAPIError as error:
            logger.warning("the write position of caller %s was not shared", caller, exc_info=error)
            await session.rollback()

    def _note(self, caller: int, position: int) -> None:
        self._written[caller] = position
        self._written.move_to_end(caller)
        while len(self._written) > self._callers:
            self._written.popitem(last=False)

    def _up(self) -> Iterator[Replica]:
        """The replicas not left alone, each request starting at the next one."""
        count = len(self._replicas)
        self._turn = (self._turn + 1) % count if count else 0
        now = self._clock()
        for offset in range(count):
            replica = self._replicas[(self._turn + offset) % count]
            if replica.down_until <= now:
                yield replica

    async def dispose(self) -> None:
        for replica in self._replicas:
            await replica.engine.dispose()


def _replica(url: str) -> Replica:
    parsed = make_url(url)
    name = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"QUHUA_READ_REPLICA_URLS: {name!r} is no PostgreSQL URL")
    engine = async_engine(
        parsed, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    return Replica(engine, name)
