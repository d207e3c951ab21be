"""The audit of stored values: each writer's request or file is one change set (who, when,
why, from where), and each value it changes one row (old, new, the file's line)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Insert, insert

from indicators.models import ChangeSet, ValueChange


@dataclass(frozen=True, slots=True)
class Author:
    """Who writes: the subject and the token they used, and who issued that token when it
    was someone else."""

    subject_id: int | None
    label: str
    token_id: int | None = None
    issuer: str | None = None


def open_change_set(
    *,
    at: dt.datetime,
    actor_subject_id: int | None,
    actor: str,
    reason: str,
    source: str,
    token_id: int | None = None,
    issuer: str | None = None,
) -> Insert:
    """The statement that records a change set, returning its id."""
    return (
        insert(ChangeSet)
        .values(
            at=at,
            actor_subject_id=actor_subject_id,
            actor=actor,
            reason=reason,
            source=source,
            token_id=token_id,
            issuer=issuer,
        )
        .returning(ChangeSet.id)
    )


def change_source(change_set: ChangeSet, change: ValueChange) -> str:
    """Where a change came from: `api`, or `import FILE:LINE`."""
    if change.line is None:
        return change_set.source
    return f"{change_set.source}:{change.line}"
