"""The record of every act of the monthly cycle: who, when (the server's clock), why."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from core.db.session import RequestSession
from indicators.audit import Author
from indicators.reporting.models import EventKind, WorkflowEvent


def utc_now() -> dt.datetime:
    """The server's clock, which stamps every act; nothing a caller sends sets it."""
    return dt.datetime.now(dt.UTC)


async def record_event(
    session: RequestSession,
    *,
    kind: EventKind,
    unit_id: int,
    month_index: int | None,
    author: Author,
    reason: str,
    detail: str = "{}",
    at: dt.datetime | None = None,
) -> int:
    statement = (
        insert(WorkflowEvent)
        .values(
            at=at or utc_now(),
            kind=kind,
            unit_id=unit_id,
            month_index=month_index,
            actor_subject_id=author.subject_id,
            actor=author.label,
            token_id=author.token_id,
            issuer=author.issuer,
            reason=reason,
            detail=detail,
        )
        .returning(WorkflowEvent.id)
    )
    return int((await session.execute(statement)).scalar_one())
