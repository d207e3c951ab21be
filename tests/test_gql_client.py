"""The Python `gql` client (HTTP transport over httpx) against a live server: it introspects
the schema, builds typed queries from it, parses scalars into Python values and writes a value
that it then reads back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.dsl import DSLMutation, DSLQuery, DSLSchema, DSLVariableDefinitions, dsl_gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXTransport
from gql.utilities import update_schema_scalar
from graphql import (
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    lexicographic_sort_schema,
    print_schema,
)

from quhua.media_types import GRAPHQL_RESPONSE
from schema.root import schema as quhua_schema
from tests.live_server import LiveServer, ningxia_server

VILLAGE = "640104001002"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with ningxia_server(tmp_path_factory.mktemp("gql"), "gql-admin") as server:
        yield server


def client_of(live: LiveServer, **headers: str) -> Client:
    transport = HTTPXTransport(
        url=live.graphql_url,
        headers={"Authorization": f"Bearer {live.token}", **headers},
        timeout=30,
    )
    return Client(
        transport=transport,
        fetch_schema_from_transport=True,
        serialize_variables=True,
        parse_results=True,
    )


def _parse_datetime(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value))


def _serialize_datetime(value: Any) -> str:
    assert isinstance(value, dt.datetime)
    return value.isoformat()


DATETIME = GraphQLScalarType("DateTime", serialize=_serialize_datetime, parse_value=_parse_datetime)


def test_the_introspected_schema_is_the_contract(live: LiveServer) -> None:
    """What the client learns by introspection prints as the server's own schema (sorted:
    introspection lists types in another order than the SDL)."""
    with client_of(live) as session:
        fetched = session.client.schema
    assert fetched is not None
    assert _printed(fetched) == _printed(build_schema(quhua_schema.as_str()))


def _printed(schema: GraphQLSchema) -> str:
    return print_schema(lexicographic_sort_schema(schema))


def test_a_typed_query_built_from_the_schema(live: LiveServer) -> None:
    client = client_of(live)
    with client as session:
        assert client.schema is not None
        ds = DSLSchema(client.schema)
        query = dsl_gql(
            DSLQuery(
                ds.Query.jurisdiction(code="640104").select(
                    ds.Jurisdiction.name,
                    ds.Jurisdiction.level,
                    ds.Jurisdiction.ancestors.select(ds.Jurisdiction.code, ds.Jurisdiction.name),
                )
            )
        )
        answer = session.execute(query)
    assert answer == {
        "jurisdiction": {
            "name": "兴庆区",
            "level": "COUNTY",
            "ancestors": [
                {"code": "64", "name": "宁夏回族自治区"},
                {"code": "6401", "name": "银川市"},
            ],
        }
    }


def test_a_field_the_schema_lacks_is_refused_by_the_client(live: LiveServer) -> None:
    with client_of(live) as session, pytest.raises(GraphQLError, match="nmae"):
        session.execute(GraphQLRequest('{ jurisdiction(code: "64") { nmae } }'))


def test_a_mutation_writes_a_value_that_reads_back(live: LiveServer) -> None:
    client = client_of(live)
    with client as session:
        assert client.schema is not None
        update_schema_scalar(client.schema, "DateTime", DATETIME)
        ds = DSLSchema(client.schema)
        rows = DSLVariableDefinitions()
        submit = ds.Mutation.submitValues(input=rows.rows, reason="gql client").select(
            ds.ValuesPayload.ok,
            ds.ValuesPayload.changed,
            ds.ValuesPayload.errors.select(ds.ValueRowError.message),
        )
        mutation = DSLMutation(submit)
        mutation.variable_definitions = rows
        row = {
            "jurisdiction": VILLAGE,
            "element": "births",
            "period": "2024-03",
            "value": 7,
            "disaggregation": "sex=female;parity=1",
        }
        written = session.execute(
            GraphQLRequest(dsl_gql(mutation), variable_values={"rows": [row]})
        )
        assert written == {"submitValues": {"ok": True, "changed": 1, "errors": []}}
        read = dsl_gql(
            DSLQuery(
                ds.Query.jurisdiction(code=VILLAGE).select(
                    ds.Jurisdiction.values(period="2024-03", elements=["births"]).select(
                        ds.StoredValue.disaggregation,
                        ds.StoredValue.value,
                        ds.StoredValue.updatedAt,
                    )
                )
            )
        )
        [stored] = session.execute(read)["jurisdiction"]["values"]
    # Stored with its categories in name order.
    assert stored["disaggregation"] == "parity=1;sex=female"
    assert stored["value"] == 7.0
    # Parsed by the client into a Python value, as its scalar type says.
    assert isinstance(stored["updatedAt"], dt.datetime)


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
def test_an_error_reaches_the_client_with_its_code(live: LiveServer, accept: str) -> None:
    """A variable that does not coerce: the server answers 200 in JSON, 400 in the new type,
    and the client raises with the server's message and code either way."""
    client = client_of(live, Accept=accept)
    query = GraphQLRequest(
        "query($code: String!) { jurisdiction(code: $code) { name } }",
        variable_values={"code": None},
    )
    client.serialize_variables = False
    with client as session, pytest.raises(TransportQueryError) as raised:
        session.execute(query)
    assert raised.value.errors is not None
    [error] = raised.value.errors
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "$code" in error["message"]
