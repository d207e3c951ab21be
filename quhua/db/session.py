"""The database session a request works in."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Executable, Result, Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


# Every statement of a request carries this option, so that checks can tell them apart
# from background work (which passes its own).
IN_REQUEST = {"quhua_request": True}
IN_BACKGROUND = {"quhua_background": True}


class RequestSession:
    """One AsyncSession per request, used by one coroutine at a time.

    GraphQL resolves sibling fields concurrently and several DataLoaders may dispatch in the
    same tick; an AsyncSession refuses concurrent use, so every statement takes a lock.
    Commit and rollback belong to whoever opened the session (the request boundary).
    """

    def __init__(self, session: AsyncSession, options: Mapping[str, Any] = IN_REQUEST) -> None:
        self._session = session
        self._options = dict(options)
        self._lock = asyncio.Lock()
        # Whether this session sent any write: the request boundary then commits and lets
        # whatever caches what was written know.
        self.wrote = False

    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Result[Any]:
        if not isinstance(statement, Select):
            self.wrote = True
        async with self._lock:
            return await self._session.execute(statement, params, execution_options=self._options)

    async def rows(self, statement: Select[*Ts]) -> Sequence[Row[*Ts]]:
        async with self._lock:
            return (await self._session.execute(statement, execution_options=self._options)).all()

    async def scalars(self, statement: Select[T]) -> Sequence[T]:
        async with self._lock:
            return (await self._session.scalars(statement, execution_options=self._options)).all()

    async def scalar(self, statement: Select[T]) -> T | None:
        async with self._lock:
            return await self._session.scalar(statement, execution_options=self._options)

    async def add(self, instance: object) -> None:
        """Add a new object and send its INSERT now, so that its id is known."""
        self.wrote = True
        async with self._lock:
            self._session.add(instance)
            await self._session.flush()

    async def commit(self) -> None:
        async with self._lock:
            await self._session.commit()

    async def rollback(self) -> None:
        async with self._lock:
            await self._session.rollback()
