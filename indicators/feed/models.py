"""The change feed's own tables: the clock that numbers commits, and resets of the store."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class FeedClock(Base):
    """One row: the last sequence number given out. Taking the next one locks the row until
    the taker commits, so numbers are given in commit order (indicators.feed.clock)."""

    __tablename__ = "feed_clock"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class FeedReset(Base):
    """A committed change that may move any aggregate without changing a stored value (the
    catalogue read values anew, the store was measured afresh): a follower of the feed
    reads its whole scope again."""

    __tablename__ = "feed_resets"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
