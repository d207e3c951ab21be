"""A query's cost (the nodes its answer can hold) is priced before it runs and refused over
the limit; the queries the project shows its users pass."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLObjectType, parse
from starlette.testclient import TestClient

from core.errors import QuhuaError
from quhua.app import create_app
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from quhua.settings import Settings
from schema import cost as pricing
from schema.cost import ASSUMED, FIGURE_WEIGHT, MAX_QUERY_COST, cost_model, priced
from schema.root import schema
from tests.cli import quhua
from tests.conftest import TOKENS, StatementCounter, data_of, graphql
from tests.test_demo import RATES

ROOT = Path(__file__).parent.parent
MODEL = cost_model(schema._schema)

# The fan-out of issue 18: five `indicators` aliases for 1,000 villages (22 s of CPU);
# one indicator each still took 11 s before figures asked unit by unit weighed more.
FAN_OUT = (
    "{ jurisdictions(level: VILLAGE, first: 1000) { edges { node { code "
    + " ".join(
        f'a{i}: indicators(period: "2025", codes: ["birth_rate"]) {{ code value }}'
        for i in range(5)
    )
    + " } } } }"
)
NESTED = """query($n: Int) {
  jurisdictions(level: COUNTY, first: $n) { edges { node {
    children(first: $n) { edges { node { children(first: $n) { edges { node { code } } } } } }
  } } }
}"""


def cost(query: str, **variables: Any) -> int:
    return MODEL.operation_cost(parse(query), None, variables)


def test_lists_multiply_their_items_down_the_nesting() -> None:
    # A connection of 10, its 10 edges, each one node.
    assert (
        cost('{ jurisdiction(code: "64") { children(first: 10) { edges { node { code } } } } }')
        == 1 + 1 + 10 + 10
    )
    assert cost("{ jurisdictions(first: 10) { totalCount edges { node { code } } } }") == 21
    # No `first`: a page of 50; more than a page holds, a full page (the field refuses it).
    assert cost("{ jurisdictions { edges { node { code } } } }") == 101
    assert cost("{ jurisdictions(first: 5000) { edges { node { code } } } }") == 2001
    # n counties, n children each, n children each of those: a connection is one node, and
    # each of its n edges holds one more.
    n = 10
    assert cost(NESTED, n=n) == 1 + n * (2 + 1 + n * (2 + 1 + n * 2))
    assert cost(NESTED, n=1000) > 10**9


def test_aggregates_indicators_and_grids_count_what_they_compute() -> None:
    unit = '{ jurisdiction(code: "64") { %s } }'
    # A figure asked of one unit counts FIGURE_WEIGHT: it is computed for that unit alone.
    one = 'value(element: "births", period: "2025") { value }'
    assert cost(unit % one) == 1 + FIGURE_WEIGHT
    assert cost(unit % f"a: {one} b: {one}") == 1 + 2 * FIGURE_WEIGHT
    asked = 'indicators(period: "2025", codes: ["birth_rate", "death_rate"]) { code }'
    assert cost(unit % asked) == 1 + 2 * FIGURE_WEIGHT
    # All of them: a page.
    assert cost(unit % 'indicators(period: "2025") { code }') == 1 + 50 * FIGURE_WEIGHT
    # A grid: its rows once, each column one node holding every row, however many lists
    # of it are asked.
    grid = """{ rollup(under: "64", level: VILLAGE, period: "2025", first: 1000,
      indicators: ["birth_rate", "death_rate"], elements: ["births"]) {
      codes names columns { values numerators nullReasons } } }"""
    assert cost(grid) == 1 + 1000 + 3 * (1 + 1000)
    assert cost("{ catalogue { elements { reportedAt } } }") == 1 + 50 * (1 + 5)


def test_variables_fragments_aliases_and_directives_count_as_they_run() -> None:
    by_variable = "query($n: Int) { jurisdictions(first: $n) { edges { node { code } } } }"
    assert cost(by_variable, n=1000) == 2001
    assert cost(by_variable) == 101
    fragment = """{ jurisdiction(code: "64") { ...Kids a: children(first: 3) { ...Page } } }
      fragment Kids on Jurisdiction { children(first: 2) { ...Page } }
      fragment Page on JurisdictionConnection { edges { node { code } } }"""
    assert cost(fragment) == 1 + (1 + 2 * 2) + (1 + 3 * 2)
    # The same field twice is one field (GraphQL merges them).
    twice = '{ jurisdiction(code: "64") { name } jurisdiction(code: "64") { level } }'
    assert cost(twice) == 1
    skipped = """query($skip: Boolean!) {
      jurisdictions(first: 1000) @skip(if: $skip) { edges { node { code } } } }"""
    assert cost(skipped, skip=True) == 0
    assert cost(skipped, skip=False) == 2001
    assert cost("{ __schema { types { name fields { name } } } }") == 0
    # Variables that do not fit: nothing runs, execution says why.
    assert cost(by_variable, n="many") == 0


def test_a_fragment_that_spreads_itself_is_refused_not_followed() -> None:
    # Validation refuses it first; the pricing does not rely on that.
    looping = """{ jurisdiction(code: "64") { ...Up } }
      fragment Up on Jurisdiction { parent { ...Up } }"""
    with pytest.raises(QuhuaError, match="without end"):
        cost(looping)


def test_every_assumed_size_names_a_field_of_the_schema() -> None:
    for type_name, field in ASSUMED:
        found = schema._schema.get_type(type_name)
        assert isinstance(found, GraphQLObjectType)
        assert field in found.fields


def refusal(body: dict[str, Any]) -> dict[str, Any]:
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    found: dict[str, Any] = error
    return found


def test_the_fan_out_is_refused_before_anything_runs(
    ningxia_client: TestClient, sql_statements: StatementCounter
) -> None:
    graphql(ningxia_client, "{ __typename }")
    before = sql_statements.count
    graphql(ningxia_client, "{ __typename }")
    reading_nothing = sql_statements.count - before
    before = sql_statements.count
    error = refusal(graphql(ningxia_client, FAN_OUT))
    # Not a statement more than a query that reads nothing.
    assert sql_statements.count - before == reading_nothing
    assert error["message"].startswith(
        f"query cost 252001 exceeds the limit {MAX_QUERY_COST}: ask for fewer"
    )
    assert error["extensions"]["cost"] == 252001
    assert error["extensions"]["limit"] == MAX_QUERY_COST


def test_a_price_remembered_is_the_price_of_the_same_document_and_variables() -> None:
    document = parse(NESTED)
    two, hundred = cost(NESTED, n=2), cost(NESTED, n=100)
    assert two < hundred
    for _ in range(2):
        assert priced(MODEL, document, None, {"n": 2}) == two
        assert priced(MODEL, document, None, {"n": 100}) == hundred
    # The same text parsed again is another document: priced, not mistaken for the first.
    assert priced(MODEL, parse(NESTED), None, {"n": 2}) == two
    # Variables that are not a few scalars are priced each time, and still right.
    listed = "query($c: [String!]) { indicators(codes: $c) { code } }"
    codes = ["birth_rate", "death_rate", "sex_ratio_at_birth"]
    assert priced(MODEL, parse(listed), None, {"c": codes}) == cost(listed, c=codes)
    # Long texts are not kept as keys: they would hold up to a body's size each.
    unit = "query($c: String!) { jurisdiction(code: $c) { code } }"
    long_code = "6" * (pricing.SHORT_TEXT + 1)
    assert priced(MODEL, parse(unit), None, {"c": long_code}) == cost(unit, c=long_code)
    assert all(("c", ("str", long_code)) not in key[3] for key in pricing._COSTS)
    short_code = "6" * pricing.SHORT_TEXT
    priced(MODEL, parse(unit), None, {"c": short_code})
    assert any(("c", ("str", short_code)) in key[3] for key in pricing._COSTS)
    # Bounded: the oldest prices go first.
    for n in range(pricing.COST_CACHE_SIZE + 20):
        priced(MODEL, document, None, {"n": n})
    assert len(pricing._COSTS) == pricing.COST_CACHE_SIZE


def test_a_cheap_query_passes(ningxia_client: TestClient) -> None:
    assert data_of(ningxia_client, '{ jurisdiction(code: "64") { name } }') == {
        "jurisdiction": {"name": "宁夏回族自治区"}
    }


def test_variables_are_priced_with_their_values(ningxia_client: TestClient) -> None:
    answer = data_of(ningxia_client, NESTED, n=2)
    assert len(answer["jurisdictions"]["edges"]) == 2
    error = refusal(graphql(ningxia_client, NESTED, n=100))
    assert error["extensions"]["cost"] == cost(NESTED, n=100)


def test_a_batch_draws_on_one_budget(ningxia_url: str) -> None:
    thousand = "{ jurisdictions(level: VILLAGE, first: 1000) { edges { node { code } } } }"
    settings = Settings(database_url=ningxia_url, max_query_cost=3000)
    headers = {"Authorization": f"Bearer {TOKENS[ningxia_url]}"}
    with TestClient(create_app(settings), headers=headers) as client:
        first, second = client.post("/graphql", json=[{"query": thousand}] * 2).json()
    assert len(first["data"]["jurisdictions"]["edges"]) == 1000
    error = refusal(second)
    assert error["message"].startswith(
        "query cost 4002 (this operation 2001, the batch's earlier ones 2001) exceeds the "
        "limit 3000"
    )


def load_catalogue(url: str) -> None:
    # Loading it again changes nothing: the shared database stays as other tests expect it.
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
    assert loaded.exit_code == 0, loaded.stdout


def shown_queries() -> list[str]:
    """The GraphQL the project shows its users: the README's examples, GraphiQL's first
    query, and what the demo's test asks of the demo."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"```graphql\n(.*?)```", readme, flags=re.DOTALL)
    page = (ROOT / "quhua" / "graphiql.html").read_text(encoding="utf-8")
    graphiql = re.search(r"EXAMPLE_QUERY = `(.*?)`;", page, flags=re.DOTALL)
    assert len(examples) >= 2 and graphiql is not None
    return [*examples, graphiql.group(1), RATES]


def test_the_queries_shown_to_users_pass_under_the_default_limit(
    ningxia_url: str, ningxia_client: TestClient
) -> None:
    load_catalogue(ningxia_url)
    for query in shown_queries():
        assert cost(query) < MAX_QUERY_COST / 10, query
        data_of(ningxia_client, query)


def test_the_largest_grid_of_the_catalogue_passes(
    ningxia_url: str, ningxia_client: TestClient
) -> None:
    """1,000 villages with every indicator and element of the shipped catalogue."""
    load_catalogue(ningxia_url)
    catalogue = data_of(ningxia_client, "{ catalogue { elements { code } indicators { code } } }")
    grid = """query($indicators: [String!], $elements: [String!]) {
      rollup(under: "64", level: VILLAGE, period: "2025-12", first: 1000,
             indicators: $indicators, elements: $elements) {
        codes names columns { code values reportingUnits expectedUnits nullReasons } } }"""
    codes = {
        kind: [c["code"] for c in catalogue["catalogue"][kind]] for kind in catalogue["catalogue"]
    }
    assert cost(grid, **codes) == 1 + 1000 + 33 * 1001 < MAX_QUERY_COST
    answer = data_of(ningxia_client, grid, **codes)
    assert len(answer["rollup"]["columns"]) == 33
