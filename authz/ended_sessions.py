"""Console sessions ended by signing out, refused until their cookies would have expired.

A session is known by its nonce only (authz stores no cookie and no token): the row holds
the nonce's SHA-256, so the table tells nothing to whoever reads it.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from authz.models import EndedSession
from core.db.session import RequestSession


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


async def end_session(session: RequestSession, nonce: str, until: dt.datetime) -> None:
    """Refuse the session from now until `until`; forget sessions whose time has passed."""
    await session.begin_writing()
    now = dt.datetime.now(dt.UTC)
    await session.execute(delete(EndedSession).where(EndedSession.until < now))
    insert = pg_insert if session.dialect == "postgresql" else sqlite_insert
    # Signing out twice (two tabs, a copy of the cookie) ends the session once.
    await session.execute(
        insert(EndedSession)
        .values(nonce_hash=_hash(nonce), until=until)
        .on_conflict_do_nothing(index_elements=["nonce_hash"])
    )


async def session_ended(session: RequestSession, nonce: str) -> bool:
    """Whether the session was signed out."""
    found = await session.scalar(
        select(EndedSession.nonce_hash).where(EndedSession.nonce_hash == _hash(nonce))
    )
    return found is not None
