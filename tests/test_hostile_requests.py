"""Malformed requests to /graphql answer 4xx with a GraphQL error body, never a 500.

Before `quhua/request_checks.py`, each case of the first tables crashed into a 500, was
answered in plain text, or ran as if it were well-formed (two operations without a name ran
the first). The property tests feed the endpoint random JSON, random bytes and random
content types, as the administrator of the Ningxia tree, so that whatever parses reaches
execution.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.conftest import TOKENS, client_for

JSON = "application/json"
GRAPHQL = "application/graphql"
NAME = '{ jurisdiction(code: "64") { name } }'
TWO = "query A { __typename } query B { __typename }"
BY_CODE = "query($code: String!) { jurisdiction(code: $code) { name } }"
DEEP_LIST = "[" * 5000 + "1" + "]" * 5000
DEEP_SELECTION = "{ a" * 2000 + " }" * 2000
LONG_NAME = "Q" * 10_000


@pytest.fixture(scope="module")
def client(ningxia_url: str) -> Iterator[TestClient]:
    """One app for the module, as the province administrator: requests reach execution."""
    with client_for(ningxia_url, TOKENS[ningxia_url]) as client:
        yield client


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def refusal(response: httpx.Response, status: int = 400) -> str:
    """The message of a refused request, after checking the answer's status and shape."""
    assert response.status_code == status, response.text[:500]
    answer = response.json()
    assert list(answer) == ["errors"], answer
    [error] = answer["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}, error
    message: str = error["message"]
    # Never the caller's long input whole.
    assert len(message) <= 300, message
    return message


POSTED: list[tuple[str, bytes, str, str]] = [
    # (what, body, content type, a word the message names)
    ("a number", b"42", JSON, "object"),
    ("a string", b'"x"', JSON, "object"),
    ("null", b"null", JSON, "object"),
    ("a list of numbers", b"[1,2]", JSON, "Operation 1 of the batch"),
    ("a list of null", b"[null]", JSON, "Operation 1 of the batch"),
    ("nested lists", b"[[[]]]", JSON, "Operation 1 of the batch"),
    ("an empty batch", b"[]", JSON, "at least one"),
    ("a batch of 11", body([{"query": NAME}] * 11), JSON, "at most 10"),
    ("a batch with a query not a string", body([{"query": NAME}, {"query": 1}]), JSON, "2 of"),
    ("invalid UTF-8", b"\xff\xfe{", JSON, "UTF-8"),
    ("invalid UTF-8 in a string", b'{"query": "{ __typename }\xff"}', JSON, "UTF-8"),
    ("not JSON", b'{"query": ', JSON, "JSON"),
    (
        "a lone surrogate",
        body({"query": BY_CODE, "variables": {"code": "6\ud800"}}),
        JSON,
        "surrogate",
    ),
    ("NaN", b'{"query": "{ __typename }", "variables": {"a": NaN}}', JSON, "NaN"),
    (
        "an infinite number",
        b'{"query": "{ __typename }", "variables": {"a": 1e999}}',
        JSON,
        "range",
    ),
    (
        "5000 digits",
        b'{"query": "{ __typename }", "variables": {"a": ' + b"1" * 5000 + b"}}",
        JSON,
        "digits",
    ),
    (
        "variables 5000 deep",
        f'{{"query": "{{ __typename }}", "variables": {{"a": {DEEP_LIST}}}}}'.encode(),
        JSON,
        "deep",
    ),
    (
        "variables 100 deep",
        body({"query": NAME, "variables": {"a": json.loads("[" * 100 + "]" * 100)}}),
        JSON,
        "deep",
    ),
    ("variables a list", body({"query": NAME, "variables": [1]}), JSON, "variables"),
    ("variables a string", body({"query": NAME, "variables": "{}"}), JSON, "variables"),
    ("query a number", body({"query": 1}), JSON, "query"),
    ("query a list", body({"query": [NAME]}), JSON, "query"),
    ("no query", body({"variables": {}}), JSON, "query"),
    ("an empty query", body({"query": ""}), JSON, "query"),
    ("operationName a number", body({"query": NAME, "operationName": 1}), JSON, "operationName"),
    ("operationName an object", body({"query": NAME, "operationName": {}}), JSON, "operationName"),
    ("extensions a number", body({"query": NAME, "extensions": 1}), JSON, "extensions"),
    ("extensions a list", body({"query": NAME, "extensions": []}), JSON, "extensions"),
    ("two operations, no operationName", body({"query": TWO}), JSON, "operationName"),
    ("an operationName naming none", body({"query": TWO, "operationName": "C"}), JSON, '"C"'),
    (
        "only a fragment",
        body({"query": "fragment F on Query { __typename }"}),
        JSON,
        "no operation",
    ),
    ("two operations in a batch", body([{"query": NAME}, {"query": TWO}]), JSON, "2 of"),
    ("graphql: invalid UTF-8", b"{ __typename }\xff", GRAPHQL, "UTF-8"),
    ("graphql: two operations", TWO.encode(), GRAPHQL, "operationName"),
    ("graphql: empty", b"", GRAPHQL, "query"),
]


@pytest.mark.parametrize(
    ("content", "content_type", "named"),
    [case[1:] for case in POSTED],
    ids=[case[0] for case in POSTED],
)
def test_a_malformed_post_is_refused(
    client: TestClient, content: bytes, content_type: str, named: str
) -> None:
    response = client.post("/graphql", content=content, headers={"content-type": content_type})
    assert named in refusal(response)


GOT: list[tuple[str, dict[str, str], str]] = [
    ("variables a list", {"query": NAME, "variables": "[1]"}, "variables"),
    ("variables a number", {"query": NAME, "variables": "42"}, "variables"),
    ("variables not JSON", {"query": NAME, "variables": "{nope"}, "JSON"),
    (
        "variables 100 deep",
        {"query": NAME, "variables": '{"a": ' + "[" * 100 + "]" * 100 + "}"},
        "deep",
    ),
    ("extensions a number", {"query": NAME, "extensions": "1"}, "extensions"),
    ("two operations, no operationName", {"query": TWO}, "operationName"),
    ("an operationName naming none", {"query": TWO, "operationName": "C"}, '"C"'),
    ("no query", {"variables": "{}"}, "query"),
    ("a mutation", {"query": "mutation { __typename }"}, "GET"),
]


@pytest.mark.parametrize(
    ("params", "named"), [case[1:] for case in GOT], ids=[case[0] for case in GOT]
)
def test_a_malformed_get_is_refused(client: TestClient, params: dict[str, str], named: str) -> None:
    response = client.get("/graphql", params=params, headers={"accept": JSON})
    assert named in refusal(response)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_another_content_type_is_refused(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/graphql", content=body({"query": NAME}), headers={"content-type": content_type}
    )
    assert "Content-Type" in refusal(response, 415)


def test_a_long_name_is_not_echoed_whole(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": TWO, "operationName": LONG_NAME})
    message = refusal(response)
    assert "QQQQ" in message
    assert LONG_NAME not in message


def test_a_body_over_the_limit_answers_the_same_shape(client: TestClient) -> None:
    response = client.post(
        "/graphql", content=b" " * 1_100_000 + body({"query": NAME}), headers={"content-type": JSON}
    )
    assert "1000000 bytes" in refusal(response, 413)


def test_well_formed_requests_still_run(client: TestClient) -> None:
    expected = {"data": {"jurisdiction": {"name": "宁夏回族自治区"}}}
    assert client.post("/graphql", json={"query": NAME}).json() == expected
    named = client.post("/graphql", json={"query": TWO, "operationName": "B"})
    assert named.json() == {"data": {"__typename": "Query"}}
    graphql = client.post("/graphql", content=NAME.encode(), headers={"content-type": GRAPHQL})
    assert graphql.json() == expected
    got = client.get("/graphql", params={"query": BY_CODE, "variables": '{"code": "64"}'})
    assert got.json() == expected
    batch = client.post("/graphql", json=[{"query": NAME}, {"query": TWO, "operationName": "A"}])
    assert batch.json() == [expected, {"data": {"__typename": "Query"}}]


@pytest.mark.parametrize(
    "request_body",
    [
        {"query": BY_CODE, "variables": {"code": [[1]]}},
        {"query": BY_CODE, "variables": {}},
        {"query": DEEP_SELECTION},
        {"query": "{ jurisdiction(code: 64) { name } }"},
    ],
    ids=["variables of the wrong type", "a variable missing", "a selection 2000 deep", "type"],
)
def test_a_request_the_schema_refuses_is_a_graphql_error(
    client: TestClient, request_body: dict[str, Any]
) -> None:
    # Well-formed requests that do not fit the schema: refused before execution, with a code.
    response = client.post("/graphql", json=request_body)
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
queries = st.sampled_from(
    [NAME, TWO, BY_CODE, "{ __typename }", "{", "", "fragment F on Query { __typename }"]
) | st.text(max_size=30)
operations = st.fixed_dictionaries(
    {},
    optional={
        "query": queries | json_values,
        "variables": st.fixed_dictionaries({}, optional={"code": json_values}) | json_values,
        "operationName": st.sampled_from(["A", "B", "C"]) | json_values,
        "extensions": json_values,
    },
)
bodies = (
    (json_values | operations | st.lists(operations, max_size=11)).map(body)
    | st.binary(max_size=40)
    | queries.map(str.encode)
)
content_types = st.sampled_from(
    [JSON, f"{JSON}; charset=utf-8", GRAPHQL, "text/plain", "multipart/form-data", ""]
) | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)


def assert_answered(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:500]
    answer: Any = response.json()
    for part in answer if isinstance(answer, list) else [answer]:
        assert "errors" in part or "data" in part, answer


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=bodies, content_type=content_types)
def test_any_post_is_answered_in_json(
    client: TestClient, content: bytes, content_type: str
) -> None:
    assert_answered(
        client.post("/graphql", content=content, headers={"content-type": content_type})
    )


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    params=st.dictionaries(
        st.sampled_from(["query", "variables", "operationName", "extensions"]),
        queries | json_values.map(json.dumps),
    )
)
def test_any_get_is_answered_in_json(client: TestClient, params: dict[str, str]) -> None:
    assert_answered(client.get("/graphql", params=params, headers={"accept": JSON}))
