"""Per-caller rate limits: a token bucket per credential (or address), 429 with Retry-After."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient, WebSocketDenialResponse

from quhua.rate_limits import RateLimit, TokenBuckets
from tests.conftest import TOKENS, client_for
from tests.console_pages import console_client, sign_in

QUERY = {"query": '{ jurisdiction(code: "64") { code } }'}
# Slow enough that no request of a test is given back by the refill.
SLOW = 0.001
ORIGIN = "https://console.example.cn"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_holds_its_burst_and_refills_at_its_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=3, callers=10, clock=clock)
    assert [buckets.wait("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.wait("a") == pytest.approx(0.5)
    # Another caller has a bucket of its own.
    assert buckets.wait("b") == 0
    clock.now += 0.5
    assert buckets.wait("a") == 0
    assert buckets.wait("a") == pytest.approx(0.5)
    # Never more than the burst, however long the caller was away.
    clock.now += 3600
    assert [buckets.wait("a") for _ in range(4)] == [0, 0, 0, pytest.approx(0.5)]


def test_the_least_recently_seen_caller_goes_first() -> None:
    buckets = TokenBuckets(rate=1, burst=1, callers=2, clock=Clock())
    for key in ("a", "b", "a", "c"):
        buckets.wait(key)
    assert list(buckets) == ["a", "c"]


def limits(**settings: Any) -> dict[str, Any]:
    return {"rate_limit_per_second": SLOW, "rate_limit_burst": 3, **settings}


def refused_for(response: Any) -> int:
    """The Retry-After of a rate-limited answer, which must be one."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "retry in" in body["errors"][0]["message"]
    return int(response.headers["retry-after"])


def test_each_token_has_its_burst_then_waits(ningxia_url: str) -> None:
    token = TOKENS[ningxia_url]
    with client_for(ningxia_url, token, **limits()) as client:
        for _ in range(3):
            assert client.post("/graphql", json=QUERY).status_code == 200
        # One request per 1,000 s: the next in about that.
        assert 999 <= refused_for(client.post("/graphql", json=QUERY)) <= 1000
        # The bulk routes draw on the same bucket; the health check on none.
        refused_for(client.get("/export/values", params={"under": "64"}))
        refused_for(client.post("/import/values", content=b""))
        for _ in range(5):
            assert client.get("/healthz").status_code == 200
        # Without the token, the caller is its address, with a bucket of its own (less the
        # one request the token's first paid there).
        anonymous = {"Authorization": ""}
        for _ in range(2):
            assert client.post("/graphql", json=QUERY, headers=anonymous).status_code == 200
        refused_for(client.post("/graphql", json=QUERY, headers=anonymous))


def test_made_up_tokens_pay_at_their_address(ningxia_url: str) -> None:
    with client_for(ningxia_url, **limits()) as client:
        for number in (1, 2, 1):
            made_up = {"Authorization": f"Bearer qh_{str(number) * 43}"}
            assert client.post("/graphql", json=QUERY, headers=made_up).status_code == 401
        fourth = {"Authorization": f"Bearer qh_{'4' * 43}"}
        refused_for(client.post("/graphql", json=QUERY, headers=fourth))
        # A real token new to this process, from the same address, waits as well: its
        # address has spent its burst.
        real = {"Authorization": f"Bearer {TOKENS[ningxia_url]}"}
        refused_for(client.post("/graphql", json=QUERY, headers=real))


SUBSCRIBE = {"query": 'subscription { aggregateChanges(under: "64", level: CITY) { endCursor } }'}
SOCKET = ("/graphql",)
PROTOCOL = ["graphql-transport-ws"]


def test_opening_sockets_draws_on_the_same_buckets(ningxia_url: str) -> None:
    """A socket's handshake is a request: opened without end, it is answered 429 too."""
    with client_for(ningxia_url, **limits()) as client:
        for _ in range(3):
            with client.websocket_connect(*SOCKET, subprotocols=PROTOCOL) as ws:
                ws.send_json({"type": "connection_init"})
                assert ws.receive_json() == {"type": "connection_ack"}
        with (
            pytest.raises(WebSocketDenialResponse) as denied,
            client.websocket_connect(*SOCKET, subprotocols=PROTOCOL),
        ):
            pass
        assert 999 <= refused_for(denied.value) <= 1000
        # The same address's HTTP requests have spent the same bucket.
        refused_for(client.post("/graphql", json=QUERY, headers={"Authorization": ""}))


def test_each_subscribe_on_a_socket_draws_on_its_address(ningxia_url: str) -> None:
    """Subscribing over and over on one open socket is held to the rate. (A socket without
    a caller: each subscription is refused at once, so none opens a session.)"""
    with (
        client_for(ningxia_url, **limits()) as client,
        client.websocket_connect(*SOCKET, subprotocols=PROTOCOL) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        # The handshake took one of the burst of 3; two subscriptions take the rest.
        for number in ("1", "2"):
            ws.send_json({"id": number, "type": "subscribe", "payload": SUBSCRIBE})
            refused = ws.receive_json()
            assert refused["id"] == number and refused["type"] == "next", refused
            assert refused["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert ws.receive_json() == {"id": number, "type": "complete"}
        ws.send_json({"id": "3", "type": "subscribe", "payload": SUBSCRIBE})
        closed = ws.receive()
        assert closed["type"] == "websocket.close", closed
        assert closed["code"] == 4429
        assert "retry in" in closed.get("reason", "")


def test_console_pages_draw_on_the_same_buckets(ningxia_url: str) -> None:
    """Each console page runs GraphQL as its viewer: a caller held to its rate on /graphql
    is held to it on the console's pages too, by its session; static assets are free."""
    world = {"url": ningxia_url}
    with console_client(world, **limits(rate_limit_burst=4)) as client:
        # The visitor's page and the sign-in draw on the address (the visitor's session is
        # new there), and the sign-in on the visitor's session; the signed-in session, new
        # as well, pays once at its address, then has its burst of 4.
        sign_in(client, TOKENS[ningxia_url])
        pages = [client.get("/") for _ in range(5)]
        assert [page.status_code for page in pages[:4]] == [200] * 4
        assert 999 <= refused_for(pages[4]) <= 1000
        refused_for(client.get("/console/search", params={"q": "银川"}))
        for _ in range(5):
            assert client.get("/static/console/console.css").status_code == 200


def test_a_refusal_reaches_a_browser_of_an_allowed_origin(ningxia_url: str) -> None:
    settings = limits(rate_limit_burst=1, cors_origins=[ORIGIN])
    with client_for(ningxia_url, TOKENS[ningxia_url], **settings) as client:
        headers = {"Origin": ORIGIN}
        assert client.post("/graphql", json=QUERY, headers=headers).status_code == 200
        refused = client.post("/graphql", json=QUERY, headers=headers)
        refused_for(refused)
        assert refused.headers["access-control-allow-origin"] == ORIGIN
        assert "retry-after" in refused.headers["access-control-expose-headers"].lower()
        # A preflight is answered by CORS and costs nothing.
        preflight = client.options(
            "/graphql",
            headers={**headers, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 200


def test_the_credential_is_kept_only_as_its_hash() -> None:
    async def hello(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    buckets = TokenBuckets(rate=SLOW, burst=2, callers=10)
    app = RateLimit(Starlette(routes=[Route("/graphql", hello)]), buckets=buckets)
    secret = "qh_" + "s" * 43
    with TestClient(app) as client:
        for scheme in ("Bearer", "bearer", "BEARER "):
            assert client.get("/graphql", headers={"Authorization": f"{scheme} {secret}"}).json()
        # However the scheme is spelt, one bucket: its third request is refused.
        refused_for(client.get("/graphql", headers={"Authorization": f"Bearer  {secret}"}))
    keys = list(buckets)
    assert len(keys) == 2
    assert all(secret not in key for key in keys)
