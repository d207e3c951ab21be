"""Pure ASGI middleware: a request that finds the database unreachable answers 503 with
Retry-After and the code DATABASE_UNAVAILABLE, instead of a 500.

The request's transaction is gone with its connection, so nothing of it was kept unless its
commit had gone through; the pool opens new connections once the database is back
(`pool_pre_ping`, on PostgreSQL), so the server recovers without a restart.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.db.outage import database_unavailable
from core.errors import ErrorCode
from quhua.request_checks import refusal

logger = logging.getLogger("quhua.requests")

# Seconds a client waits before it retries: about what a PostgreSQL restart takes.
RETRY_AFTER_SECONDS = 2
MESSAGE = (
    "The database cannot be reached just now: try again shortly. A write is kept only if it "
    "had committed: read before you retry."
)


class DatabaseOutage:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = completed = False

        async def watched(message: Message) -> None:
            nonlocal started, completed
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                completed = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as error:
            if not database_unavailable(error) or (started and not completed):
                raise
            path = scope.get("path", "")
            if completed:
                # Closing the request's session after its answer went out: nothing is left to
                # tell the caller, and raising would close a connection the client reuses.
                logger.warning("%s: the database went away after the answer: %s", path, error)
                return
            logger.warning("%s: the database is unavailable: %s", path, error)
            response = refusal(
                MESSAGE,
                status=503,
                code=ErrorCode.DATABASE_UNAVAILABLE,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await response(scope, receive, send)
