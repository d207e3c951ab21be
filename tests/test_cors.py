"""CORS as configured: a preflight from an allowed origin is answered, any other refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import client_for

ALLOWED = "https://console.example.cn"
REFUSED = "https://elsewhere.example.com"
# What the console, Apollo's clients and browser tracing send beside the body.
HEADERS = "authorization, content-type, accept, traceparent, apollographql-client-name"


@pytest.fixture
def client(ningxia_url: str) -> Iterator[TestClient]:
    with client_for(ningxia_url, cors_origins=[ALLOWED]) as client:
        yield client


def preflight(client: TestClient, origin: str) -> httpx.Response:
    return client.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": HEADERS,
        },
    )


def test_a_preflight_from_an_allowed_origin_is_answered(client: TestClient) -> None:
    response = preflight(client, ALLOWED)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ALLOWED
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {h.strip() for h in HEADERS.split(",")} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]


def test_a_preflight_from_another_origin_is_refused(client: TestClient) -> None:
    response = preflight(client, REFUSED)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_a_simple_request_from_another_origin_gets_no_allowance(client: TestClient) -> None:
    response = client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": REFUSED}
    )
    assert "access-control-allow-origin" not in response.headers
    allowed = client.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": ALLOWED})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
