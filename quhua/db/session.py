"""The database session a request works in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Executable, Result, Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class RequestSession:
    """One AsyncSession per request, used by one coroutine at a time.

    GraphQL resolves sibling fields concurrently and several DataLoaders may dispatch in the
    same tick; an AsyncSession refuses concurrent use, so every statement takes a lock.
    Commit and rollback belong to whoever opened the session (the request boundary).
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._lock = asyncio.Lock()

    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Result[Any]:
        async with self._lock:
            return await self._session.execute(statement, params)

    async def rows(self, statement: Select[*Ts]) -> Sequence[Row[*Ts]]:
        async with self._lock:
            return (await self._session.execute(statement)).all()

    async def scalars(self, statement: Select[T]) -> Sequence[T]:
        async with self._lock:
            return (await self._session.scalars(statement)).all()

    async def scalar(self, statement: Select[T]) -> T | None:
        async with self._lock:
            return await self._session.scalar(statement)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[AsyncSession]:
        """Hold the session for several statements that must not interleave with others."""
        async with self._lock:
            yield self._session

    async def commit(self) -> None:
        async with self._lock:
            await self._session.commit()

    async def rollback(self) -> None:
        async with self._lock:
            await self._session.rollback()
