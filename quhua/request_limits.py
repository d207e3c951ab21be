"""Pure ASGI middleware that ends a request's work when its client goes away or when its
time is up, and gives each request its budget of query cost (schema/cost.py).

The app runs in a task of its own while the middleware listens to the client. The body is
handed on as the app reads it (the server holds the rest back meanwhile); once the body is
in, the next message the server can send is the client's disconnect. Either event cancels
the app's task: its statement in flight runs to its end (core/db/session.py shields it),
then the request's session closes and rolls back whatever was not committed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schema.cost import cost_budget

logger = logging.getLogger("quhua.requests")

TIMEOUT = "TIMEOUT"
# Why the middleware stopped a request ("disconnect" or "timeout"), for whoever reads the
# scope afterwards.
STOPPED = "quhua.stopped"
_DISCONNECT: Message = {"type": "http.disconnect"}


class RequestLimits:
    def __init__(self, app: ASGIApp, *, timeout_seconds: float, max_query_cost: int) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.max_query_cost = max_query_cost

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Every operation of the request (a batch has several) draws on this one budget.
        with cost_budget(self.max_query_cost):
            await _Exchange(self.app, scope, receive, send, self.timeout_seconds).run()


class _Exchange:
    """One request, its app in a task, its client listened to."""

    def __init__(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, seconds: float
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.scope = scope
        self.receive = receive
        self.send = send
        # The client's messages not yet taken by the app.
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.gone = False
        self.started = False
        self.completed = False
        # Once the middleware answers or the client is gone, the app's messages go nowhere.
        self.closed = False

    async def app_receive(self) -> Message:
        if self.gone and self.inbox.empty():
            return _DISCONNECT
        message = await self.inbox.get()
        self.inbox.task_done()
        return message

    async def app_send(self, message: Message) -> None:
        if self.closed:
            return
        if message["type"] == "http.response.start":
            self.started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.completed = True
        await self.send(message)

    async def listen(self) -> None:
        """Hand the client's messages on to the app, until the client goes away."""
        while True:
            message = await self.receive()
            self.inbox.put_nowait(message)
            if message["type"] == "http.disconnect":
                self.gone = True
                return
            if message["type"] == "http.request" and message.get("more_body", False):
                # Read on only as the app takes the body: at most one part waits here.
                await self.inbox.join()

    async def serve(self) -> None:
        await self.app(self.scope, self.app_receive, self.app_send)

    async def run(self) -> None:
        begun = time.monotonic()
        work = asyncio.create_task(self.serve())
        listener = asyncio.create_task(self.listen())
        try:
            await asyncio.wait(
                {work, listener}, timeout=self.seconds, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            # The server itself is stopping this request.
            await _stop(work, listener)
            raise
        if work.done() or self.completed:
            # Answered: servers report a disconnect once the response is complete, while the
            # app may still be closing its session. It ends by itself, errors included.
            await _end(listener)
            # Should the app read on, it hears that the client is gone.
            self.gone = True
            self.inbox.put_nowait(_DISCONNECT)
            await work
            return
        reason = "disconnect" if listener.done() else "timeout"
        self.scope[STOPPED] = reason
        self.closed = True
        if reason == "timeout" and not self.started:
            await _timed_out(self.seconds)(self.scope, self.app_receive, self.send)
        await _stop(work, listener)
        if not work.cancelled() and work.exception() is not None:
            logger.error("a stopped request failed as it unwound", exc_info=work.exception())
        seconds = time.monotonic() - begun
        if reason == "disconnect":
            logger.info(
                "%s: the client went away after %.1f s; stopped", _what(self.scope), seconds
            )
        else:
            logger.warning("%s: stopped at the time limit of %g s", _what(self.scope), self.seconds)


async def _stop(work: asyncio.Task[None], listener: asyncio.Task[None]) -> None:
    """Cancel what still runs and wait for the app to unwind (its session to roll back)."""
    work.cancel()
    await _end(listener)
    await asyncio.wait({work})


async def _end(listener: asyncio.Task[None]) -> None:
    listener.cancel()
    await asyncio.wait({listener})
    if not listener.cancelled() and listener.exception() is not None:
        logger.warning("listening to a client failed", exc_info=listener.exception())


def _timed_out(limit: float) -> JSONResponse:
    message = (
        f"The request took longer than {limit:g} s and was stopped: ask for less, or try "
        "again later. A write is kept only if it had committed: read before you retry."
    )
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": TIMEOUT}}]}, status_code=503
    )


def _what(scope: Scope) -> str:
    return f"{scope.get('method', '')} {scope.get('path', '')}".strip()
