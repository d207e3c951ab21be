"""Per-caller rate limits (pure ASGI): a token bucket per caller, in each worker process.

A caller is its bearer credential, known only by its SHA-256 (the raw token is never kept),
or its console session (the SHA-256 of its sealed cookie), or, without either, its client
address (behind a proxy, the address the server was told to
trust: uvicorn's --forwarded-allow-ips). A credential the process has not seen yet also
draws on its address's bucket, and one the app refuses (401) is forgotten again: made-up
tokens cannot buy fresh buckets faster than their address's rate.

Memory is bounded: beyond `callers` buckets the least recently seen is dropped (its caller
starts again with a full bucket, which only ever errs towards letting a request through).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

from starlette.requests import cookie_parser
from starlette.status import WS_1008_POLICY_VIOLATION
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from authz.tokens import bearer_credential
from core.errors import ErrorCode
from quhua.console.session_cookie import COOKIE
from quhua.request_checks import refusal

# The paths that do a caller's work: the API's, and the console's pages, each of which runs
# GraphQL operations as its viewer (else a caller held to its rate on /graphql could run
# the same operations through them); /healthz and static assets are free.
LIMITED_PREFIXES = ("/graphql", "/export/", "/import/", "/console/")
CONSOLE_HOME = "/"
UNAUTHORIZED = 401
# graphql-transport-ws's close code for too many requests.
TOO_MANY_REQUESTS = 4429


class TokenBuckets:
    """Buckets of `burst` requests refilled at `rate` per second, one per caller key."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        callers: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.callers = callers
        self._clock = clock
        # key -> (requests left, when last counted); the most recently seen last.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._buckets

    def __len__(self) -> int:
        return len(self._buckets)

    def __iter__(self) -> Iterator[str]:
        """The callers' keys, the least recently seen first."""
        return iter(list(self._buckets))

    def wait(self, key: str) -> float:
        """0 when the caller may go on (one request taken); else the seconds until it may."""
        now = self._clock()
        left, at = self._buckets.pop(key, (float(self.burst), now))
        left = min(float(self.burst), left + (now - at) * self.rate)
        waiting = 0.0
        if left >= 1:
            left -= 1
        else:
            waiting = (1 - left) / self.rate
        self._buckets[key] = (left, now)
        if len(self._buckets) > self.callers:
            self._buckets.popitem(last=False)
        return waiting

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)


class RateLimit:
    def __init__(self, app: ASGIApp, *, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limited = scope["type"] in {"http", "websocket"}
        path = scope.get("path", "")
        if not limited or not (path == CONSOLE_HOME or path.startswith(LIMITED_PREFIXES)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        credential = _credential(scope)
        waiting = self._waiting(_address(scope), credential)
        if waiting:
            await self._refuse(waiting, scope, receive, send)
            return
        if credential is None:
            await self.app(scope, receive, send)
            return
        key = credential

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == UNAUTHORIZED:
                self.buckets.forget(key)
            await send(message)

        await self.app(scope, receive, sending)

    def _waiting(self, address: str, credential: str | None) -> float:
        """0 when the request may go on (taken from its buckets); else seconds to wait."""
        if credential is None:
            return self.buckets.wait(address)
        # A credential not seen yet pays at its address too, before it gets a bucket.
        waiting = 0.0 if credential in self.buckets else self.buckets.wait(address)
        return waiting or self.buckets.wait(credential)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket draws on its address's bucket: its opening handshake, and then each
        operation it subscribes, as HTTP requests do. (Its token, if any, travels in the
        connection_init message, which the app checks: made-up tokens buy nothing here.)
        Over the rate, the handshake is answered 429, and an open socket is closed with
        4429, graphql-transport-ws's code for too many requests."""
        address = _address(scope)
        waiting = self.buckets.wait(address)
        if waiting:
            await self._refuse(waiting, scope, receive, send)
            return
        closed = False

        async def receiving() -> Message:
            nonlocal closed
            message = await receive()
            if message["type"] != "websocket.receive" or not _subscribes(message):
                return message
            waiting = self.buckets.wait(address)
            if not waiting:
                return message
            closed = True
            seconds = max(1, math.ceil(waiting))
            reason = f"Too many requests: retry in {seconds} s"
            await send({"type": "websocket.close", "code": TOO_MANY_REQUESTS, "reason": reason})
            return {"type": "websocket.disconnect", "code": TOO_MANY_REQUESTS}

        async def sending(message: Message) -> None:
            # Once closed here, what the app still sends has no socket to go to.
            if not closed:
                await send(message)

        await self.app(scope, receiving, sending)

    async def _refuse(self, waiting: float, scope: Scope, receive: Receive, send: Send) -> None:
        seconds = max(1, math.ceil(waiting))
        message = (
            f"Too many requests: at most {self.buckets.rate:g} a second "
            f"(bursts of {self.buckets.burst}) for each caller; retry in {seconds} s"
        )
        response = refusal(
            message,
            status=429,
            code=ErrorCode.RATE_LIMITED,
            headers={"Retry-After": str(seconds)},
        )
        if scope["type"] == "http":
            await response(scope, receive, send)
            return
        socket = WebSocket(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            # The handshake answered 429 with Retry-After, as an HTTP request is.
            await socket.send_denial_response(response)
        else:
            # A server without the denial extension can only refuse the handshake (403).
            await socket.close(code=WS_1008_POLICY_VIOLATION, reason=message[:120])


def _subscribes(message: Message) -> bool:
    """Whether a socket's message subscribes an operation (graphql-transport-ws)."""
    text = message.get("text")
    if text is None:
        data = message.get("bytes") or b""
        text = data.decode("utf-8", "replace")
    if '"subscribe"' not in text:
        return False
    try:
        found = json.loads(text)
    except ValueError:
        return False
    return isinstance(found, dict) and found.get("type") == "subscribe"


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


def _credential(scope: Scope) -> str | None:
    """The key of the request's bearer credential, or else of its console session: a hash,
    never the credential (the console's cookie is sealed: its hash stands for the session,
    and a session new to the process pays at its address first, as a new token does)."""
    cookie = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            credential = bearer_credential(value.decode("latin-1"))
            if not credential:
                return None
            digest = hashlib.sha256(credential.encode()).hexdigest()
            return f"credential:{digest}"
        if name == b"cookie":
            cookie = value.decode("latin-1")
    session = cookie_parser(cookie).get(COOKIE) if cookie else None
    if session:
        return f"session:{hashlib.sha256(session.encode()).hexdigest()}"
    return None
