"""Schemathesis, in GraphQL mode, fuzzes a live server: every query and mutation field with
arguments Hypothesis makes from the introspected schema, as the province administrator.

Schemathesis sends valid and deliberately invalid documents. Whatever it sends, the server
answers below 500, in the media type the spec's recommended Accept header asks for, with no
stack trace, and every error carries `extensions.code`, none of them INTERNAL_SERVER_ERROR (an
error the server did not expect: a bug). Errors as such are no failure here: made-up codes are
NOT_FOUND, made-up periods BAD_USER_INPUT. An answer without `data` is a 400 (the operation
never ran), one with `data` a 200. Bounded: EXAMPLES cases per operation (SCALE_EXAMPLES in
CI's scale step).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.graphql.schemas import GraphQLSchema

from quhua.media_types import GRAPHQL_RESPONSE
from tests.live_server import LiveServer, ningxia_server

EXAMPLES = 10
SCALE_EXAMPLES = 60
TIMEOUT = 30
# What a stack trace or an SQL error leaves in a body.
LEAKS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy", "psycopg", "sqlite3")
UNEXPECTED = "INTERNAL_SERVER_ERROR"
ACCEPT = f"{GRAPHQL_RESPONSE}; charset=utf-8, application/json; charset=utf-8"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with ningxia_server(tmp_path_factory.mktemp("fuzz"), "fuzz-admin") as server:
        yield server


@pytest.fixture(scope="module")
def fuzzed(live: LiveServer) -> GraphQLSchema:
    loaded: GraphQLSchema = schemathesis.graphql.from_url(
        live.graphql_url, headers={"Authorization": f"Bearer {live.token}"}, timeout=TIMEOUT
    )
    return loaded


schema = schemathesis.pytest.from_fixture("fuzzed")


def check(case: Any, live: LiveServer) -> None:
    """Send the case as the administrator; fail on anything but a well-formed, coded answer."""
    headers = {"Authorization": f"Bearer {live.token}", "Accept": ACCEPT}
    response = case.call(headers=headers, timeout=TIMEOUT)
    sent = f"{case.body!r}"[:2000]
    what = (response.status_code, response.text[:2000], sent)
    assert response.status_code < 500, what
    for leak in LEAKS:
        assert leak not in response.text, (leak, *what)
    # Schemathesis keeps each header's values as a list.
    [kind] = response.headers["content-type"]
    assert kind.startswith(GRAPHQL_RESPONSE), what
    body = response.json()
    assert isinstance(body, dict), what
    assert response.status_code == (200 if "data" in body else 400), what
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str), (error, sent)
        assert code != UNEXPECTED, (error, sent)


def bounded(examples: int) -> settings:
    """Hypothesis's settings for a fuzz run of this many cases per operation: a request to a
    live server takes its time, and invalid documents are filtered out often."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@schema.parametrize()
@bounded(EXAMPLES)
def test_no_fuzzed_request_breaks_the_server(case: Any, live: LiveServer) -> None:
    check(case, live)


@pytest.mark.scale
@schema.parametrize()
@bounded(SCALE_EXAMPLES)
def test_many_fuzzed_requests_break_nothing(case: Any, live: LiveServer) -> None:
    check(case, live)
