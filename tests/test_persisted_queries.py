"""Automatic persisted queries, allow-list mode and introspection as configured, over HTTP."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import TOKENS, client_for

QUERY = '{ jurisdiction(code: "64") { code name } }'
OTHER = '{ jurisdiction(code: "6401") { code name } }'
# Sent by a caller without a token: registered, then refused, so nothing is revoked.
MUTATION = 'mutation { revokeToken(id: "999999", reason: "test") { id } }'
INTROSPECTION = "{ __schema { queryType { name } } }"
NINGXIA = {"jurisdiction": {"code": "64", "name": "宁夏回族自治区"}}


def sha(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def persisted(document: str, *, with_query: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(document)}}
    }
    if with_query:
        body["query"] = document
    return body


def get(client: TestClient, document: str) -> Any:
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha(document)}})
    return client.get("/graphql", params={"extensions": extensions})


def code_of(body: dict[str, Any]) -> str:
    codes = {str(error["extensions"]["code"]) for error in body["errors"]}
    assert len(codes) == 1, body
    return codes.pop()


def test_an_unknown_hash_asks_for_the_query_then_the_hash_alone_runs(ningxia_url: str) -> None:
    with client_for(ningxia_url, TOKENS[ningxia_url]) as client:
        missed = client.post("/graphql", json=persisted(QUERY))
        assert missed.status_code == 404
        # What Apollo Client, urql and Apollo Router match, and never cached by a proxy.
        assert missed.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        assert code_of(missed.json()) == "PERSISTED_QUERY_NOT_FOUND"
        assert "no-cache" in missed.headers["cache-control"]
        sent = client.post("/graphql", json=persisted(QUERY, with_query=True))
        assert sent.status_code == 200, sent.text
        assert sent.json() == {"data": NINGXIA}
        again = client.post("/graphql", json=persisted(QUERY))
        assert again.status_code == 200, again.text
        assert again.json() == {"data": NINGXIA}


def test_get_runs_a_persisted_query_but_no_mutation(ningxia_url: str) -> None:
    with client_for(ningxia_url, TOKENS[ningxia_url]) as client:
        assert get(client, OTHER).status_code == 404
        client.post("/graphql", json=persisted(OTHER, with_query=True))
        answered = get(client, OTHER)
        assert answered.status_code == 200, answered.text
        assert answered.json()["data"]["jurisdiction"]["code"] == "6401"
    with client_for(ningxia_url) as client:
        client.post("/graphql", json=persisted(MUTATION, with_query=True))
        refused = get(client, MUTATION)
        assert refused.status_code in {400, 405}, refused.text
        assert "GET" in refused.json()["errors"][0]["message"]


def test_a_query_whose_hash_is_not_its_own_is_refused(ningxia_url: str) -> None:
    with client_for(ningxia_url, TOKENS[ningxia_url]) as client:
        body = {**persisted(QUERY), "query": OTHER}
        refused = client.post("/graphql", json=body)
        assert refused.status_code == 400
        message = refused.json()["errors"][0]["message"]
        assert sha(QUERY) in message
        assert sha(OTHER) in message
        assert code_of(refused.json()) == "BAD_REQUEST"
        # Not remembered under the hash it claimed.
        assert client.post("/graphql", json=persisted(QUERY)).status_code == 404


@pytest.mark.parametrize(
    ("persisted_query", "named"),
    [
        ({"version": 2, "sha256Hash": "0" * 64}, "version"),
        ({"sha256Hash": "0" * 64}, "version"),
        ({"version": 1, "sha256Hash": "xyz"}, "sha256Hash"),
        ({"version": 1}, "sha256Hash"),
        ("abc", "object"),
    ],
)
def test_a_malformed_persisted_query_is_refused(
    ningxia_url: str, persisted_query: object, named: str
) -> None:
    with client_for(ningxia_url) as client:
        refused = client.post("/graphql", json={"extensions": {"persistedQuery": persisted_query}})
        assert refused.status_code == 400
        assert named in refused.json()["errors"][0]["message"]
        assert code_of(refused.json()) == "BAD_REQUEST"


def test_a_batch_fills_in_each_operation(ningxia_url: str) -> None:
    with client_for(ningxia_url, TOKENS[ningxia_url]) as client:
        client.post("/graphql", json=persisted(QUERY, with_query=True))
        answered = client.post("/graphql", json=[persisted(QUERY), {"query": OTHER}])
        assert answered.status_code == 200, answered.text
        assert [item["data"]["jurisdiction"]["code"] for item in answered.json()] == ["64", "6401"]
        wrong = {**persisted(QUERY), "query": OTHER}
        refused = client.post("/graphql", json=[{"query": OTHER}, wrong])
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["message"].startswith("Operation 2 of the batch: ")


def test_the_cache_keeps_the_most_recently_used(ningxia_url: str) -> None:
    third = '{ jurisdiction(code: "6402") { code } }'
    with client_for(ningxia_url, persisted_query_cache_size=2) as client:
        for document in (QUERY, OTHER):
            client.post("/graphql", json=persisted(document, with_query=True))
        assert client.post("/graphql", json=persisted(QUERY)).status_code == 200
        client.post("/graphql", json=persisted(third, with_query=True))
        # OTHER was the least recently used of the two.
        assert client.post("/graphql", json=persisted(OTHER)).status_code == 404
        assert client.post("/graphql", json=persisted(QUERY)).status_code == 200
        assert client.post("/graphql", json=persisted(third)).status_code == 200


def allow_list(folder: Path, *documents: str) -> Path:
    path = folder / "operations.json"
    path.write_text(json.dumps({sha(document): document for document in documents}))
    return path


def test_allow_list_mode_runs_registered_operations_only(ningxia_url: str, tmp_path: Path) -> None:
    path = allow_list(tmp_path, QUERY)
    with client_for(ningxia_url, TOKENS[ningxia_url], allowed_operations=path) as client:
        # By hash, without ever being sent, and as text.
        assert client.post("/graphql", json=persisted(QUERY)).json() == {"data": NINGXIA}
        assert client.post("/graphql", json={"query": QUERY}).json() == {"data": NINGXIA}
        assert client.post("/graphql", json=persisted(OTHER)).status_code == 404
        for body in ({"query": OTHER}, persisted(OTHER, with_query=True)):
            refused = client.post("/graphql", json=body)
            assert refused.status_code == 403, refused.text
            assert code_of(refused.json()) == "PERSISTED_QUERY_NOT_IN_LIST"
        # What a caller sent is not added to the list.
        assert client.post("/graphql", json=persisted(OTHER)).status_code == 404
        batch = client.post("/graphql", json=[{"query": QUERY}, {"query": OTHER}])
        assert batch.status_code == 403
        assert batch.json()["errors"][0]["message"].startswith("Operation 2 of the batch: ")
        # Introspection is off by default in this mode.
        assert client.post("/graphql", json={"query": INTROSPECTION}).status_code == 403


def test_allow_list_mode_lets_introspection_through_when_configured(
    ningxia_url: str, tmp_path: Path
) -> None:
    path = allow_list(tmp_path, QUERY)
    with client_for(ningxia_url, allowed_operations=path, introspection=True) as client:
        answered = client.post("/graphql", json={"query": INTROSPECTION})
        assert answered.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        mixed = '{ __schema { queryType { name } } jurisdiction(code: "64") { code } }'
        assert client.post("/graphql", json={"query": mixed}).status_code == 403


def test_allow_list_from_a_folder_and_from_a_manifest(ningxia_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "operations"
    (folder / "nested").mkdir(parents=True)
    (folder / "ningxia.graphql").write_text(QUERY)
    (folder / "nested" / "yinchuan.graphql").write_text(OTHER)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": sha(OTHER), "name": "Yinchuan", "body": OTHER}],
            }
        )
    )
    with client_for(ningxia_url, TOKENS[ningxia_url], allowed_operations=folder) as client:
        assert client.post("/graphql", json=persisted(QUERY)).status_code == 200
        assert client.post("/graphql", json=persisted(OTHER)).status_code == 200
    with client_for(ningxia_url, TOKENS[ningxia_url], allowed_operations=manifest) as client:
        assert client.post("/graphql", json=persisted(OTHER)).status_code == 200
        assert client.post("/graphql", json={"query": QUERY}).status_code == 403


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ({"0" * 64: QUERY}, "the document's SHA-256 is"),
        ({sha("{ nothing }"): "{ nothing }"}, "not valid against the schema"),
        ({sha("{ jurisdiction("): "{ jurisdiction("}, "not GraphQL"),
        ({"abc": QUERY}, "no SHA-256"),
        ({}, "registers no operation"),
        ([QUERY], "JSON object"),
    ],
)
def test_a_wrong_allow_list_stops_start_up(
    ningxia_url: str, tmp_path: Path, content: object, named: str
) -> None:
    path = tmp_path / "operations.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match="QUHUA_ALLOWED_OPERATIONS") as raised:
        client_for(ningxia_url, allowed_operations=path)
    assert named in str(raised.value)


def test_introspection_off_is_a_validation_error_beside_a_server_with_it_on(
    ningxia_url: str,
) -> None:
    with (
        client_for(ningxia_url, introspection=False) as closed,
        client_for(ningxia_url) as open_,
    ):
        # Alternately, in one process: the validation cache holds each answer apart.
        for _ in range(2):
            refused = closed.post("/graphql", json={"query": INTROSPECTION})
            assert refused.status_code == 200
            body = refused.json()
            assert body["data"] is None
            assert "introspection" in body["errors"][0]["message"]
            assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
            typed = closed.post("/graphql", json={"query": '{ __type(name: "Query") { name } }'})
            assert code_of(typed.json()) == "GRAPHQL_VALIDATION_FAILED"
            answered = open_.post("/graphql", json={"query": INTROSPECTION})
            assert answered.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        # __typename is no introspection of the schema.
        assert closed.post("/graphql", json={"query": "{ __typename }"}).json() == {
            "data": {"__typename": "Query"}
        }
