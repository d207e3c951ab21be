"""Where the primary's WAL stood after each caller's last commit, for every server process.

A process notes its own callers' writes in memory (core.db.replicas); this table carries
the note to the others, so that a caller whose next read reaches another worker, or
another machine, still reads its own write.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class WritePosition(Base):
    __tablename__ = "write_positions"

    # The subject's id (authz's subjects); no foreign key: core knows no subjects.
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # The WAL position (bytes) a replica must have replayed to show the caller's writes.
    position: Mapped[int] = mapped_column(BigInteger)
