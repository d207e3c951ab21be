"""Work written once as a sequence of statements, run on a request's session or on a
command's connection alike.

Steps are a generator: it yields each statement and is sent back the rows it returned
(none for a write), and returns its result. The writers of values are of both kinds (the
API's session, the import's connection): the same steps keep violations for both.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Executable, Result

from core.db.session import RequestSession

T = TypeVar("T")
# Rows are sent back as the database returns them: unpacked by position.
Steps = Generator[Executable, Sequence[Any], T]


def run_sync(connection: Connection, steps: Steps[T]) -> T:
    """Run the steps on a connection, inside its transaction."""
    try:
        statement = next(steps)
        while True:
            statement = steps.send(_rows(connection.execute(statement)))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def run_async(session: RequestSession, steps: Steps[T]) -> T:
    """Run the steps on a request's session, inside its transaction."""
    try:
        statement = next(steps)
        while True:
            statement = steps.send(_rows(await session.execute(statement)))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def _rows(result: Result[Any]) -> Sequence[Any]:
    """What a statement returned: its rows, or none for a write without RETURNING (a
    session's SELECT comes back as an ORM result, which always has rows)."""
    if isinstance(result, CursorResult) and not result.returns_rows:
        return []
    return result.all()
