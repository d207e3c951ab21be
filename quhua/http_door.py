"""Plain HTTP endpoints beside GraphQL (exports, imports, the change feed): the same caller,
the same scope and the same errors as a GraphQL request.

A handler gets a `Context` built exactly as the GraphQL endpoint builds it, so every access
check goes through the same door (`resolvers.context.Context.require`, `authz/`). The
session lives as long as the response: for a streaming response, until its last chunk is
sent or the client goes away. A request that wrote commits when its answer is a success and
rolls back otherwise (all or nothing, as in GraphQL).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from authz.authentication import Authenticator
from core.db.replicas import ReadReplicas
from core.db.session import RequestSession
from core.errors import ErrorCode, QuhuaError
from quhua.request_checks import refusal
from resolvers.context import Context
from resolvers.feed.live import COMMITS

logger = logging.getLogger("quhua.http")

Handler = Callable[[Request, Context], Awaitable[Response]]

STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.BAD_USER_INPUT: 400,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.CONFLICT: 409,
    ErrorCode.LOCKED: 423,
    ErrorCode.ROLLED_BACK: 409,
}


def error_response(error: QuhuaError) -> JSONResponse:
    """A refused request's answer: the GraphQL error shape, with an HTTP status to match."""
    headers = {"WWW-Authenticate": "Bearer"} if error.code is ErrorCode.UNAUTHENTICATED else None
    return refusal(
        error.message, status=STATUS.get(error.code, 400), code=error.code, headers=headers
    )


class HttpDoor:
    """Wraps handlers of plain HTTP endpoints with a session and the authenticated caller."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        authenticator: Authenticator,
        replicas: ReadReplicas,
    ) -> None:
        self._sessions = sessions
        self._authenticator = authenticator
        # Only to note a caller's writes: these endpoints read the primary.
        self._replicas = replicas

    def __call__(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = self._sessions()
            request_session = RequestSession(session)
            caller: int | None = None

            async def close(*, keep: bool) -> None:
                try:
                    await request_session.settle()
                    if keep and request_session.wrote:
                        await request_session.commit()
                        COMMITS.notify()
                        await self._replicas.note_commit(request_session, caller)
                        await self._authenticator.refresh(request_session)
                    await request_session.rollback()
                finally:
                    await request_session.end()
                    await session.close()

            try:
                principal = await self._authenticator.authenticate(
                    request_session, request.headers.get("authorization")
                )
                caller = principal.subject_id if principal is not None else None
                context = Context(session=request_session, principal=principal)
                response = await handler(request, context)
            except QuhuaError as error:
                await close(keep=False)
                return error_response(error)
            except BaseException:
                await close(keep=False)
                raise
            if not isinstance(response, StreamingResponse):
                await close(keep=response.status_code < 400)
                return response
            response.body_iterator = _closing(response.body_iterator, close)
            return response

        return endpoint


async def _closing(
    body: AsyncIterable[Any], close: Callable[..., Awaitable[None]]
) -> AsyncIterator[Any]:
    """The body, then the session closed: after the last chunk, or when the client left.
    A stream that ends early (an error, a cut connection) keeps none of its writes."""
    finished = False
    try:
        async for chunk in body:
            yield chunk
        finished = True
    finally:
        await close(keep=finished)
