"""A request stops when its client goes away or its time is up, and keeps nothing half-done."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, event
from starlette.applications import Starlette
from starlette.types import Message, Scope

from quhua.app import create_app
from quhua.request_limits import STOPPED, RequestLimits
from quhua.settings import Settings
from tests.conftest import TOKENS
from tests.databases import issue_token
from tests.processes import quhua_server
from tests.test_values import READ, SUBMIT, VILLAGE, row

# Every indicator five times for 1,000 villages: seconds of work (about 9 s here), far over
# the default cost limit, so the apps of these tests lift it.
SLOW = (
    "{ jurisdictions(level: VILLAGE, first: 1000) { edges { node { "
    + " ".join(
        f'a{i}: indicators(period: "2024") {{ code value reportingUnits nullReason }}'
        for i in range(5)
    )
    + " } } } }"
)
UNLIMITED = 10**9


@pytest.fixture
def world(catalogue_url: str) -> tuple[str, str]:
    """Ningxia and the default catalogue; the URL and a province administrator's token."""
    return catalogue_url, issue_token(catalogue_url, "admin", "admin", "64")


@asynccontextmanager
async def running(url: str, **settings: Any) -> AsyncIterator[Starlette]:
    """The app with its lifespan (migrations checked, policy loaded) around the block."""
    app = create_app(Settings(database_url=url, **settings))
    async with app.router.lifespan_context(app):
        yield app


def http_scope(token: str, body: bytes) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }


class Caller:
    """A client at the ASGI level: sends the body in parts, then waits until it goes away
    (or, as servers do, until the response is complete)."""

    def __init__(self, body: bytes, parts: int = 1) -> None:
        size = -(-len(body) // parts)
        self.parts = [body[i : i + size] for i in range(0, len(body), size)]
        self.gone = asyncio.Event()
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.parts:
            part = self.parts.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(self.parts)}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.gone.set()


class Statements:
    """The statements the requests of this process send, while listening."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.wrote = asyncio.Event()

    def __call__(
        self, _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: Any
    ) -> None:
        if context is not None and context.execution_options.get("quhua_request"):
            self.seen.append(statement)
            if "INSERT INTO data_values" in statement:
                self.wrote.set()


@pytest.fixture
def statements() -> Iterator[Statements]:
    listener = Statements()
    event.listen(Engine, "before_cursor_execute", listener)
    try:
        yield listener
    finally:
        event.remove(Engine, "before_cursor_execute", listener)


def write_then_slow_read() -> bytes:
    """A batch, one transaction: a value written, then seconds of reading."""
    return json.dumps(
        [{"query": SUBMIT, "variables": {"rows": [row(value=7)]}}, {"query": SLOW}]
    ).encode()


async def stored_values(app: Starlette, token: str) -> list[Any]:
    async with client_of(app, token) as client:
        answer = await client.post(
            "/graphql", json={"query": READ, "variables": {"code": VILLAGE, "period": "2024"}}
        )
    values: list[Any] = answer.json()["data"]["jurisdiction"]["values"]
    return values


def client_of(app: Starlette, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


async def assert_writable(app: Starlette, token: str) -> None:
    """A new write goes through at once: nothing of the stopped request holds a lock (on
    SQLite its open transaction would hold the write lock; on PostgreSQL, the unit's row)."""
    async with client_of(app, token) as client:
        answer = await asyncio.wait_for(
            client.post("/graphql", json={"query": SUBMIT, "variables": {"rows": [row(value=3)]}}),
            timeout=10,
        )
    assert answer.json()["data"]["submitValues"]["changed"] == 1, answer.text


async def test_a_client_gone_away_stops_its_request_and_nothing_of_it_is_kept(
    world: tuple[str, str], statements: Statements
) -> None:
    url, token = world
    async with running(url, max_query_cost=UNLIMITED) as app:
        body = write_then_slow_read()
        caller = Caller(body)
        scope = http_scope(token, body)
        request = asyncio.create_task(app(scope, caller.receive, caller.send))
        await asyncio.wait_for(statements.wrote.wait(), timeout=30)
        # The batch's reading is under way; the client hangs up.
        await asyncio.sleep(0.5)
        hung_up = time.monotonic()
        caller.gone.set()
        await asyncio.wait_for(request, timeout=60)
        stopped_within = time.monotonic() - hung_up

        assert scope[STOPPED] == "disconnect"
        assert caller.sent == []
        # The reading alone runs for seconds; it stopped at its next await.
        assert stopped_within < 2.0, stopped_within
        sent = len(statements.seen)
        await asyncio.sleep(0.5)
        assert len(statements.seen) == sent, "the stopped request still sends statements"
        # Its write was in the same transaction: rolled back, and no lock is left behind.
        assert await stored_values(app, token) == []
        await assert_writable(app, token)


async def test_the_time_limit_answers_a_clear_error_and_keeps_nothing(
    world: tuple[str, str],
) -> None:
    url, token = world
    async with running(url, max_query_cost=UNLIMITED, request_timeout_seconds=1) as app:
        async with client_of(app, token) as client:
            begun = time.monotonic()
            response = await client.post(
                "/graphql",
                content=write_then_slow_read(),
                headers={"Content-Type": "application/json"},
            )
            seconds = time.monotonic() - begun
        assert response.status_code == 503
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "TIMEOUT"}
        assert "took longer than 1 s" in error["message"]
        assert seconds < 4, seconds
        assert await stored_values(app, token) == []
        await assert_writable(app, token)


async def test_a_body_in_parts_reaches_the_app_whole(ningxia_url: str) -> None:
    async with running(ningxia_url) as app:
        body = json.dumps({"query": '{ jurisdiction(code: "640104") { name } }'}).encode()
        caller = Caller(body, parts=4)
        scope = http_scope(TOKENS[ningxia_url], body)
        await asyncio.wait_for(app(scope, caller.receive, caller.send), timeout=30)
    start, *chunks = caller.sent
    assert start["status"] == 200
    answer = json.loads(b"".join(chunk["body"] for chunk in chunks))
    assert answer == {"data": {"jurisdiction": {"name": "兴庆区"}}}
    assert STOPPED not in scope


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_used(pid: int, *, seconds: float) -> float:
    """CPU seconds the process uses in the next `seconds`."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - before


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")
# The server's side of a disconnect is the same on both; the database's, tested above.
@pytest.mark.parametrize("ningxia_url", ["sqlite"], indirect=True)
def test_the_server_stops_working_when_its_client_hangs_up(ningxia_url: str) -> None:
    body = json.dumps({"query": SLOW}).encode()
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {TOKENS[ningxia_url]}\r\n".encode()
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    env = {"QUHUA_DATABASE_URL": ningxia_url, "QUHUA_MAX_QUERY_COST": str(UNLIMITED)}
    with (
        tempfile.TemporaryDirectory() as folder,
        quhua_server("serve", folder=Path(folder), env=env) as server,
    ):
        port = int(server.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(request)
            time.sleep(0.5)
            busy = cpu_used(server.process.pid, seconds=1.0)
        # Hung up: the server hears it at once.
        time.sleep(0.5)
        after = cpu_used(server.process.pid, seconds=1.0)
    # Compared with what the same second cost while the request ran (the machine may be
    # shared): a worker still computing would use as much.
    assert busy > 0.1, "the request was not running"
    assert after < busy / 4, (busy, after)


class Client:
    """The server's side at the ASGI level, for the middleware alone: the body, then a
    wait until the client leaves (at `leaves_at` seconds) or the response is complete."""

    def __init__(self, *, leaves_at: float | None = None, fails: bool = False) -> None:
        self.body_sent = False
        self.gone = asyncio.Event()
        self.complete = asyncio.Event()
        self.fails = fails
        self.sent: list[Message] = []
        if leaves_at is not None:
            asyncio.get_running_loop().call_later(leaves_at, self.gone.set)

    async def receive(self) -> Message:
        if not self.body_sent:
            self.body_sent = True
            return {"type": "http.request", "body": b"{}", "more_body": False}
        waits = [asyncio.ensure_future(e.wait()) for e in (self.gone, self.complete)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for each in waits:
                each.cancel()
        if self.fails:
            raise OSError("the connection broke")
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete.set()


async def limited(app: Any, client: Client, *, seconds: float = 30) -> tuple[Scope, float]:
    """The app behind the middleware, answered for the client: its scope and seconds."""
    scope: Scope = {"type": "http", "method": "POST", "path": "/slow", "headers": []}
    begun = time.monotonic()
    middleware = RequestLimits(app, timeout_seconds=seconds, max_query_cost=UNLIMITED)
    await asyncio.wait_for(middleware(scope, client.receive, client.send), timeout=20)
    return scope, time.monotonic() - begun


async def answer_after(send: Any, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"late"})


async def test_a_client_gone_while_the_app_polled_for_it_is_heard() -> None:
    """The app's own reads, cancelled by its timeouts, end before the listener is due and
    while it is: the listener starts all the same."""

    async def polling(_scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        for _ in range(4):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(receive(), 0.03)
        await answer_after(send, 5)

    client = Client(leaves_at=0.3)
    scope, seconds = await limited(polling, client)
    assert scope[STOPPED] == "disconnect"
    assert client.sent == []
    assert seconds < 3, seconds


async def test_a_server_that_cannot_read_its_client_stops_the_request() -> None:
    async def reading(_scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await asyncio.sleep(0.2)
        # Waits for the client's next message, which only the listener can bring.
        await receive()
        await answer_after(send, 5)

    client = Client(leaves_at=0.3, fails=True)
    scope, seconds = await limited(reading, client)
    assert scope[STOPPED] == "disconnect"
    assert client.sent == []
    assert seconds < 3, seconds


async def test_an_error_as_a_stopped_app_unwinds_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def failing_cleanup(_scope: Scope, receive: Any, _send: Any) -> None:
        await receive()
        try:
            await asyncio.sleep(5)
        finally:
            raise ValueError("the rollback failed")

    client = Client(leaves_at=0.1)
    with caplog.at_level(logging.ERROR, logger="quhua.requests"):
        scope, _ = await limited(failing_cleanup, client)
    assert scope[STOPPED] == "disconnect"
    assert client.sent == []
    [record] = [r for r in caplog.records if "failed as it unwound" in r.getMessage()]
    assert record.exc_info is not None and "rollback failed" in str(record.exc_info[1])


async def test_the_apps_own_timeout_error_is_its_own() -> None:
    async def timing_out(_scope: Scope, receive: Any, _send: Any) -> None:
        await receive()
        raise TimeoutError("a call of the app's own timed out")

    with pytest.raises(TimeoutError, match="of the app's own"):
        await limited(timing_out, Client())
