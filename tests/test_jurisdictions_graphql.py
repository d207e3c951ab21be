"""The division tree through GraphQL over HTTP, on the real Ningxia tree."""

from __future__ import annotations

import csv
from collections import Counter

from starlette.testclient import TestClient

from quhua.demo import shipped_data
from tests.conftest import StatementCounter, data_of, graphql
from tests.databases import NINGXIA

with shipped_data(NINGXIA).open(encoding="utf-8") as _file:
    ROWS = list(csv.DictReader(_file))
BY_CODE = {row["code"]: row for row in ROWS}
LEVEL_COUNTS = Counter(row["level"] for row in ROWS)

UNIT = """
query Unit($code: String!) {
  jurisdiction(code: $code) {
    code name level validFrom validTo
    parent { code }
    ancestors { code name level }
    children(first: 3) { totalCount edges { node { code } } pageInfo { hasNextPage } }
    descendantCount
    villages: descendantCount(level: VILLAGE)
    cities: descendantCount(level: CITY)
  }
}
"""


def test_a_unit_with_its_family(ningxia_client: TestClient) -> None:
    unit = data_of(ningxia_client, UNIT, code="640104")["jurisdiction"]
    children = [row for row in ROWS if row["parent_code"] == "640104"]
    villages = [row for row in ROWS if row["code"].startswith("640104") and len(row["code"]) == 12]
    assert unit["name"] == "兴庆区"
    assert unit["level"] == "COUNTY"
    assert unit["validFrom"] == "2023-06-30"
    assert unit["validTo"] is None
    assert unit["parent"] == {"code": "6401"}
    assert unit["ancestors"] == [
        {"code": "64", "name": "宁夏回族自治区", "level": "PROVINCE"},
        {"code": "6401", "name": "银川市", "level": "CITY"},
    ]
    assert unit["children"]["totalCount"] == len(children)
    assert [e["node"]["code"] for e in unit["children"]["edges"]] == sorted(
        row["code"] for row in children
    )[:3]
    assert unit["children"]["pageInfo"]["hasNextPage"] is True
    assert unit["descendantCount"] == len(children) + len(villages)
    assert unit["villages"] == len(villages)
    assert unit["cities"] == 0


def test_the_province_counts_every_level(ningxia_client: TestClient) -> None:
    query = """{ jurisdiction(code: "64") { parent { code } ancestors { code }
        c: descendantCount(level: CITY) k: descendantCount(level: COUNTY)
        t: descendantCount(level: TOWNSHIP) v: descendantCount(level: VILLAGE)
        all: descendantCount } }"""
    unit = data_of(ningxia_client, query)["jurisdiction"]
    assert unit["parent"] is None
    assert unit["ancestors"] == []
    assert (unit["c"], unit["k"], unit["t"], unit["v"]) == (5, 22, 259, 2912)
    assert unit["all"] == len(ROWS) - 1


def test_an_unknown_code_is_null(ningxia_client: TestClient) -> None:
    assert data_of(ningxia_client, UNIT, code="659999")["jurisdiction"] is None


LIST = """
query List($level: Level, $under: String, $search: String, $first: Int, $after: String) {
  jurisdictions(level: $level, under: $under, search: $search, first: $first, after: $after) {
    totalCount
    edges { cursor node { code name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def test_paging_through_every_township_returns_each_once_in_code_order(
    ningxia_client: TestClient,
) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = data_of(ningxia_client, LIST, level="TOWNSHIP", first=40, after=after)
        connection = page["jurisdictions"]
        assert connection["totalCount"] == LEVEL_COUNTS["township"]
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["code"] for edge in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    expected = sorted(row["code"] for row in ROWS if row["level"] == "township")
    assert seen == expected
    assert pages == -(-len(expected) // 40)


def test_under_limits_to_a_subtree_and_includes_its_root(ningxia_client: TestClient) -> None:
    connection = data_of(ningxia_client, LIST, under="6401", first=1000)["jurisdictions"]
    codes = [edge["node"]["code"] for edge in connection["edges"]]
    assert codes == sorted(row["code"] for row in ROWS if row["code"].startswith("6401"))
    assert connection["totalCount"] == len(codes)
    counties = data_of(ningxia_client, LIST, under="6401", level="COUNTY")["jurisdictions"]
    assert counties["totalCount"] == sum(
        1 for row in ROWS if row["parent_code"] == "6401" and row["level"] == "county"
    )


def test_search_matches_names_and_code_prefixes(ningxia_client: TestClient) -> None:
    by_name = data_of(ningxia_client, LIST, search="兴庆")["jurisdictions"]
    assert {edge["node"]["code"] for edge in by_name["edges"]} >= {"640104"}
    assert all("兴庆" in edge["node"]["name"] for edge in by_name["edges"])
    by_code = data_of(ningxia_client, LIST, search="640104001", first=100)["jurisdictions"]
    expected = sorted(code for code in BY_CODE if code.startswith("640104001"))
    assert [edge["node"]["code"] for edge in by_code["edges"]] == expected
    wildcard = data_of(ningxia_client, LIST, search="%")["jurisdictions"]
    assert wildcard["totalCount"] == 0


def test_children_pages_follow_their_cursors(ningxia_client: TestClient) -> None:
    query = """query($after: String) { jurisdiction(code: "640104001") {
        children(first: 2, after: $after) {
          edges { node { code } } pageInfo { endCursor hasNextPage } } } }"""
    seen: list[str] = []
    after = None
    while True:
        children = data_of(ningxia_client, query, after=after)["jurisdiction"]["children"]
        seen += [edge["node"]["code"] for edge in children["edges"]]
        if not children["pageInfo"]["hasNextPage"]:
            break
        after = children["pageInfo"]["endCursor"]
    assert seen == sorted(row["code"] for row in ROWS if row["parent_code"] == "640104001")


def test_bad_arguments_are_refused_with_a_code(ningxia_client: TestClient) -> None:
    cases = [
        ({"after": "not-a-cursor"}, "BAD_USER_INPUT", "after"),
        ({"first": 1001}, "BAD_USER_INPUT", "first"),
        ({"first": -1}, "BAD_USER_INPUT", "first"),
        ({"under": "99"}, "NOT_FOUND", "under"),
        ({"search": "x" * 51}, "BAD_USER_INPUT", "search"),
    ]
    for variables, code, argument in cases:
        body = graphql(ningxia_client, LIST, **variables)
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == code, (variables, error)
        assert error["message"].startswith(argument)


def test_a_query_that_does_not_validate_says_so(ningxia_client: TestClient) -> None:
    body = graphql(ningxia_client, "{ jurisdiction(code: 64) { code } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_too_deep_a_query_is_refused(ningxia_client: TestClient) -> None:
    nested = "parent { " * 14 + "code" + " }" * 14
    body = graphql(ningxia_client, f'{{ jurisdiction(code: "640104001002") {{ {nested} }} }}')
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


GRID = """
query Grid($first: Int) {
  jurisdictions(level: VILLAGE, first: $first) {
    edges { node {
      code name
      parent { code name parent { code } }
      ancestors { code }
      children(first: 10) { totalCount edges { node { code } } }
      descendantCount
    } }
  }
}
"""


def test_a_page_of_500_costs_as_many_statements_as_a_page_of_5(
    ningxia_client: TestClient, sql_statements: StatementCounter
) -> None:
    data_of(ningxia_client, GRID, first=1)  # the caller's token and grants are cached from now
    sql_statements.statements.clear()
    data_of(ningxia_client, GRID, first=5)
    small = sql_statements.count
    sql_statements.statements.clear()
    page = data_of(ningxia_client, GRID, first=500)
    assert len(page["jurisdictions"]["edges"]) == 500
    assert sql_statements.count == small
    # page, parents, grandparents, ancestors by code, children, child counts, descendants
    assert sql_statements.count <= 8, sql_statements.statements


def test_health_and_home(ningxia_client: TestClient) -> None:
    assert ningxia_client.get("/healthz").json() == {"status": "ok"}
    # The console's sign-in page (tests/test_console.py): it reads no Authorization header.
    home = ningxia_client.get("/", follow_redirects=False)
    assert home.status_code == 200
    assert 'action="/console/sign-in"' in home.text
    ide = ningxia_client.get("/graphql", headers={"accept": "text/html"})
    assert ide.status_code == 200
    assert "graphiql" in ide.text.lower()


def test_a_body_over_the_limit_is_refused(ningxia_client: TestClient) -> None:
    response = ningxia_client.post(
        "/graphql",
        content=b'{"query": "' + b" " * 1_100_000 + b'{ jurisdiction(code: \\"64\\") { code } }"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
