"""Pure ASGI middleware that ends a request's work when its client goes away or when its
time is up, and gives each request its budget of query cost (schema/cost.py).

The app runs in the request's own task, in an `asyncio.timeout` that the time limit or the
client's going away brings forward to now (a 503 for the first goes out at once). A request
still running after `LISTEN_AFTER` seconds is listened to: a task hands the client's
messages on to the app as it reads them (the server holds the rest back meanwhile) and,
once the body is in, hears the client's disconnect and brings the deadline forward to now.
Either event cancels the app: its statement in flight runs to its end (core/db/session.py
shields it), then the request's session closes and rolls back whatever was not committed.
Until then the app reads from the server itself, so a disconnect it reads stops it too;
most requests end before they are listened to and cost no task of their own.
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
# Seconds a request runs before a task listens for its client: a client gone sooner is
# heard then (or by the app, should it read).
LISTEN_AFTER = 0.05
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
    """One request: its app under a deadline, its client listened to once it runs long."""

    def __init__(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, seconds: float
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.scope = scope
        self.receive = receive
        self.send = send
        self.deadline: asyncio.Timeout | None = None
        self.listener: asyncio.Task[None] | None = None
        self.answer: asyncio.Task[None] | None = None
        # The listener is due, but waits while the app reads from the server itself.
        self.listen_due = False
        self.receiving = False
        # The client's messages the listener took and the app has not yet.
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.gone = False
        self.started = False
        self.completed = False
        # Once the middleware answers or the client is gone, the app's messages go nowhere.
        self.closed = False

    async def app_receive(self) -> Message:
        if self.listener is None:
            self.receiving = True
            try:
                message = await self.receive()
            except BaseException:
                # A read the app cancelled (a poll with a timeout, say) ends the wait too.
                self.receiving = False
                if self.listen_due:
                    self.listen()
                raise
            self.receiving = False
            if message["type"] == "http.disconnect":
                self.client_gone()
            elif self.listen_due:
                self.listen()
            return message
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

    def listen(self) -> None:
        """Listen to the client from now on, unless the app is reading from it itself
        (then once that read returns)."""
        self.listen_due = True
        if self.listener is None and not self.receiving and not self.gone:
            self.listener = asyncio.create_task(self.listening())

    def client_gone(self) -> None:
        """The client went away: stop the app now, unless it has answered already (servers
        report a disconnect once the response is complete, while the app may still be
        closing its session; it ends by itself, errors included)."""
        self.gone = True
        if not self.completed:
            self.stop("disconnect")

    def time_up(self) -> None:
        """The time limit: stop the app, and answer the client at once if nothing went out
        yet (the app's session rolls back meanwhile)."""
        if self.completed:
            return
        if not self.started and not self.closed:
            self.answer = asyncio.create_task(
                _timed_out(self.seconds)(self.scope, self.app_receive, self.send)
            )
        self.stop("timeout")

    def stop(self, reason: str) -> None:
        if self.closed or self.deadline is None:
            return
        self.scope[STOPPED] = reason
        self.closed = True
        self.deadline.reschedule(asyncio.get_running_loop().time())

    async def listening(self) -> None:
        """Hand the client's messages on to the app, until the client goes away."""
        try:
            while True:
                message = await self.receive()
                self.inbox.put_nowait(message)
                if message["type"] == "http.disconnect":
                    self.client_gone()
                    return
                if message["type"] == "http.request" and message.get("more_body", False):
                    # Read on only as the app takes the body: at most one part waits here.
                    await self.inbox.join()
        except Exception:
            # A server that cannot read from its client has lost it (logged by _end).
            self.inbox.put_nowait(_DISCONNECT)
            self.client_gone()
            raise

    async def run(self) -> None:
        begun = time.monotonic()
        loop = asyncio.get_running_loop()
        due = loop.call_later(LISTEN_AFTER, self.listen)
        limit = loop.call_later(self.seconds, self.time_up)
        try:
            # Never expires by itself: stop() brings it forward.
            async with asyncio.timeout(None) as deadline:
                self.deadline = deadline
                await self.app(self.scope, self.app_receive, self.app_send)
        except Exception as error:
            if not deadline.expired():
                raise  # the app's own
            # The app was stopped and has unwound (its session rolled back); an error as it
            # unwound has nobody left to answer.
            if not isinstance(error, TimeoutError):
                logger.error("a stopped request failed as it unwound", exc_info=error)
            self.said(time.monotonic() - begun)
        finally:
            # Out of the block: nothing is left to stop.
            self.deadline = None
            due.cancel()
            limit.cancel()
            if self.listener is not None:
                await _end(self.listener)
            if self.answer is not None:
                await self.answer

    def said(self, seconds: float) -> None:
        if self.scope[STOPPED] == "disconnect":
            logger.info(
                "%s: the client went away after %.1f s; stopped", _what(self.scope), seconds
            )
        else:
            logger.warning("%s: stopped at the time limit of %g s", _what(self.scope), self.seconds)


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
