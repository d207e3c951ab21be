"""Numbering commits for the change feed.

Every writer of stored values stamps its change set as its last statement before commit:
`UPDATE feed_clock SET seq = seq + 1` takes the clock row's lock, which is held until the
writer commits or rolls back. A second writer's stamp waits for the first to end, so the
numbers are given in commit order: once a reader sees number N+1 committed, N is committed
(and visible) too, or was rolled back and never used. Numbers may skip; they never go back.
The lock is taken at the very end, so writers of different subtrees overlap in everything
but their commits.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import DateTime, Executable, Select, Table, Text, insert, literal, select, update

from indicators.feed.models import FeedClock, FeedReset
from indicators.models import ChangeSet

CLOCK = cast(Table, FeedClock.__table__)
SETS = cast(Table, ChangeSet.__table__)
RESETS = cast(Table, FeedReset.__table__)
_TICK = update(CLOCK).where(CLOCK.c.id == 1).values(seq=CLOCK.c.seq + 1)
_NOW = select(CLOCK.c.seq).where(CLOCK.c.id == 1).scalar_subquery()


def stamp_statements(change_set_id: int) -> list[Executable]:
    """The change set's place in the feed; run last, just before the commit."""
    return [_TICK, update(SETS).where(SETS.c.id == change_set_id).values(seq=_NOW)]


def reset_statements(at: dt.datetime, reason: str) -> list[Executable]:
    """A reset of the feed: every aggregate may have moved; run last, before the commit."""
    return [_TICK, insert(RESETS).from_select(["seq", "at", "reason"], _reset_row(at, reason))]


def _reset_row(at: dt.datetime, reason: str) -> Select[tuple[int, dt.datetime, str]]:
    stamped = literal(at, DateTime(timezone=True))
    return select(CLOCK.c.seq, stamped, literal(reason, Text)).where(CLOCK.c.id == 1)


HEAD = select(CLOCK.c.seq).where(CLOCK.c.id == 1)
