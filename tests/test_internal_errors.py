"""An internal error reaches the caller masked, with a trace id the server logs beside it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from sqlalchemy import text
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from core.db.engine import sync_engine
from quhua.app import create_app
from quhua.settings import Settings
from tests.databases import ningxia_world

QUERY = {"query": "{ catalogue { categories { code name } } }"}
TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736


def break_categories(url: str) -> None:
    """A column the catalogue reads gone: the database refuses the query with its SQL."""
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE categories RENAME COLUMN name TO name_gone"))
    finally:
        engine.dispose()


def traced(app: ASGIApp) -> ASGIApp:
    """The app inside a span, as a tracing proxy or middleware would put it."""
    context = SpanContext(
        trace_id=TRACE_ID, span_id=0x1234, is_remote=True, trace_flags=TraceFlags(1)
    )

    async def inside(scope: Scope, receive: Receive, send: Send) -> None:
        with trace.use_span(NonRecordingSpan(context)):
            await app(scope, receive, send)

    return inside


@pytest.fixture
def broken(backend: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with ningxia_world(backend, tmp_path, "admin") as (url, token):
        break_categories(url)
        yield url, token


def masked_error(client: TestClient, token: str) -> dict[str, Any]:
    response = client.post("/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    for leak in ("name_gone", "categories", "SELECT", "Traceback", "sqlalchemy"):
        assert leak not in response.text
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert isinstance(error, dict)
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert set(error["extensions"]) == {"code", "traceId"}
    return error


@pytest.mark.parametrize("in_a_trace", [False, True])
def test_the_error_is_masked_and_its_id_logged(
    broken: tuple[str, str], caplog: pytest.LogCaptureFixture, in_a_trace: bool
) -> None:
    url, token = broken
    app = create_app(Settings(database_url=url))
    with (
        caplog.at_level(logging.ERROR, logger="quhua.graphql"),
        TestClient(traced(app) if in_a_trace else app) as client,
    ):
        ids = [masked_error(client, token)["extensions"]["traceId"] for _ in range(2)]
    if in_a_trace:
        assert ids == [trace.format_trace_id(TRACE_ID)] * 2
    else:
        # Random, of a trace id's shape, one for each error.
        assert all(isinstance(i, str) and re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
        assert ids[0] != ids[1]
    logged = [r for r in caplog.records if str(ids[0]) in r.getMessage()]
    assert logged
    # The log line holds what the caller does not see.
    for record in logged:
        assert record.exc_info is not None
        assert "name" in str(record.exc_info[1])
