"""Answers in the media type the caller accepts, with the status GraphQL over HTTP gives it.

In application/graphql-response+json an operation that never ran answers 400 without `data`;
in application/json (no Accept, `*/*`, or JSON named) every well-formed request answers 200,
as it did before the new type was served.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from quhua.media_types import GRAPHQL_RESPONSE, JSON, graphql_response_status, negotiate
from tests.conftest import TOKENS, client_for

NAME = '{ jurisdiction(code: "640104") { name } }'
PARSE = "{"
UNKNOWN_FIELD = "{ noSuchField }"
COERCION = "query($code: String!) { jurisdiction(code: $code) { name } }"


@pytest.fixture(scope="module")
def client(ningxia_url: str) -> Iterator[TestClient]:
    with client_for(ningxia_url, TOKENS[ningxia_url]) as client:
        yield client


def post(client: TestClient, accept: str, query: str, **variables: Any) -> tuple[int, str, Any]:
    response: httpx.Response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"accept": accept}
    )
    return response.status_code, response.headers["content-type"], response.json()


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        # The spec's recommended header: the new type first, with charsets.
        (f"{GRAPHQL_RESPONSE}; charset=utf-8, application/json; charset=utf-8", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, application/json", JSON),
        (f"application/json;q=0.9, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        # A named type beats a wildcard of the same quality.
        (f"{GRAPHQL_RESPONSE}, */*", GRAPHQL_RESPONSE),
        ("application/json, */*", JSON),
        # The most specific range decides: JSON refused outright, anything else welcome.
        ("application/json;q=0, */*", GRAPHQL_RESPONSE),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSON),
        (f"{GRAPHQL_RESPONSE}; charset=latin-1, application/json", JSON),
        ("text/plain", None),
        ("application/json; charset=latin-1", None),
        ("application/json;q=0", None),
        ("application/json;q=nope", None),
        ("nonsense", None),
    ],
)
def test_the_answer_type_follows_the_accept_header(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen


def test_a_query_answers_in_the_new_type_when_asked(client: TestClient) -> None:
    status, kind, body = post(client, GRAPHQL_RESPONSE, NAME)
    assert (status, kind) == (200, f"{GRAPHQL_RESPONSE}; charset=utf-8")
    assert body == {"data": {"jurisdiction": {"name": "兴庆区"}}}


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        (PARSE, {}, "GRAPHQL_VALIDATION_FAILED"),
        (UNKNOWN_FIELD, {}, "GRAPHQL_VALIDATION_FAILED"),
        (COERCION, {"code": None}, "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=["parse", "validation", "coercion"],
)
def test_an_operation_that_never_ran(
    client: TestClient, query: str, variables: dict[str, Any], code: str
) -> None:
    """400 without `data` in the new type; 200 with `data: null` in JSON, as before."""
    status, kind, body = post(client, GRAPHQL_RESPONSE, query, **variables)
    assert (status, kind) == (400, f"{GRAPHQL_RESPONSE}; charset=utf-8")
    assert list(body) == ["errors"]
    assert {error["extensions"]["code"] for error in body["errors"]} == {code}
    status, kind, legacy = post(client, JSON, query, **variables)
    assert (status, kind) == (200, JSON)
    assert legacy == {"data": None, **body}


def test_a_field_error_is_a_partial_answer_in_both_types(ningxia_url: str) -> None:
    """The operation ran: a field refused an anonymous caller."""
    with client_for(ningxia_url) as anonymous:
        for accept in (GRAPHQL_RESPONSE, JSON):
            status, _, body = post(anonymous, accept, NAME)
            assert status == 200
            assert body["data"] == {"jurisdiction": None}
            [error] = body["errors"]
            assert error["path"] == ["jurisdiction"]
            assert error["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_caller_accepting_neither_type_is_refused(client: TestClient) -> None:
    status, kind, body = post(client, "text/plain", NAME)
    assert (status, kind) == (406, JSON)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert '"text/plain"' in error["message"]
    assert GRAPHQL_RESPONSE in error["message"]


def test_the_browser_still_gets_graphiql(client: TestClient) -> None:
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


def test_refusals_answer_in_the_accepted_type(ningxia_url: str) -> None:
    with client_for(ningxia_url) as anonymous:
        broken = anonymous.post(
            "/graphql",
            content=b'{"query": ',
            headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE},
        )
        assert broken.status_code == 400
        assert broken.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
        assert broken.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        forged = anonymous.post(
            "/graphql",
            json={"query": NAME},
            headers={"accept": GRAPHQL_RESPONSE, "authorization": "Bearer qh_forged"},
        )
        assert forged.status_code == 401
        assert forged.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
        assert forged.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_batch_answers_400_only_when_none_of_it_ran(client: TestClient) -> None:
    headers = {"accept": GRAPHQL_RESPONSE}
    mixed = client.post("/graphql", json=[{"query": NAME}, {"query": PARSE}], headers=headers)
    assert mixed.status_code == 200
    ran, never = mixed.json()
    assert ran == {"data": {"jurisdiction": {"name": "兴庆区"}}}
    assert list(never) == ["errors"]
    broken = client.post("/graphql", json=[{"query": PARSE}, {"query": PARSE}], headers=headers)
    assert broken.status_code == 400
    assert all(list(answer) == ["errors"] for answer in broken.json())


def test_writes_undone_are_no_request_error() -> None:
    """An operation whose writes were rolled back ran: it keeps `data: null` and 200."""
    undone: Any = {
        "data": None,
        "errors": [{"message": "Not committed", "extensions": {"code": "ROLLED_BACK"}}],
    }
    never: Any = {"data": None, "errors": [{"message": "Syntax Error", "extensions": {}}]}
    assert graphql_response_status([undone]) == 200
    assert "data" in undone
    assert graphql_response_status([never]) == 400
    assert "data" not in never
