"""The roll-up fields as callers meet them: who may read what, bad arguments, null reasons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import StatementCounter, client_for, data_of, graphql
from tests.databases import issue_token, retire

SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "report") { ok errors { message } } }"""
XINGQING = "640104"
TOWNSHIP = "640104001"
VILLAGE = "640104001002"
RETIRED = "640104001003"


@pytest.fixture
def admin(catalogue_url: str) -> Iterator[tuple[str, TestClient]]:
    """Ningxia with a few values in one village: births and population of March 2024."""
    with client_for(catalogue_url, issue_token(catalogue_url, "admin", "admin", "64")) as client:
        rows = [
            {
                "jurisdiction": VILLAGE,
                "element": "births",
                "period": "2024-03",
                "disaggregation": "sex=male;parity=1",
                "value": 3,
            },
            {
                "jurisdiction": VILLAGE,
                "element": "births",
                "period": "2024-03",
                "disaggregation": "sex=female;parity=2",
                "value": 1,
            },
            {
                "jurisdiction": VILLAGE,
                "element": "population",
                "period": "2024-03",
                "disaggregation": "sex=male",
                "value": 600,
            },
            {
                "jurisdiction": VILLAGE,
                "element": "population",
                "period": "2024-03",
                "disaggregation": "sex=female",
                "value": 600,
            },
        ]
        assert data_of(client, SUBMIT, rows=rows)["submitValues"]["ok"]
        yield catalogue_url, client


def codes_of(body: dict[str, object]) -> list[str | None]:
    errors = body.get("errors") or []
    assert isinstance(errors, list)
    return [e["extensions"]["code"] for e in errors]


def test_values_roll_up_at_once_with_provenance(admin: tuple[str, TestClient]) -> None:
    _, client = admin
    data = data_of(
        client,
        """{ jurisdiction(code: "64") {
          births: value(element: "births", period: "2024-03") {
            value reportingUnits expectedUnits nullReason }
          boys: value(element: "births", period: "2024-Q1", disaggregation: "sex=male") { value }
          rate: indicator(code: "birth_rate", period: "2024-03") {
            value numerator denominator unit reportingUnits nullReason }
          none: indicator(code: "birth_rate", period: "2023") { value nullReason }
          funding: value(element: "funding", period: "2024-03") { value nullReason }
        } }""",
    )["jurisdiction"]
    assert data["births"] == {
        "value": 4.0,
        "reportingUnits": 1,
        "expectedUnits": 2912,
        "nullReason": None,
    }
    assert data["boys"] == {"value": 3.0}
    assert data["rate"] == {
        "value": 4 / 1200 * 1000 * 12,
        "numerator": 4.0,
        "denominator": 1200.0,
        "unit": "‰",
        "reportingUnits": 1,
        "nullReason": None,
    }
    assert data["none"] == {"value": None, "nullReason": "no unit reported births for 2023"}
    assert data["funding"]["value"] is None
    assert "quarter" in data["funding"]["nullReason"]


def test_who_may_read_aggregates(admin: tuple[str, TestClient]) -> None:
    url, _ = admin
    query = """query($code: String!) { jurisdiction(code: $code) {
      indicator(code: "birth_rate", period: "2024") { value } } }"""
    system = issue_token(url, "system", "aggregate_reader", XINGQING)
    with client_for(url, system) as client:
        assert data_of(client, query, code=XINGQING)["jurisdiction"]["indicator"]["value"]
        # Its parent's figures include units outside its subtree.
        assert codes_of(graphql(client, query, code="6401")) == ["FORBIDDEN"]
        # Aggregates, not the raw values of a unit.
        raw = graphql(
            client, '{ jurisdiction(code: "640104001002") { values(period: "2024") { value } } }'
        )
        assert codes_of(raw) == ["FORBIDDEN"]
        grid = graphql(
            client,
            '{ rollup(under: "6401", level: COUNTY, period: "2024", '
            'indicators: ["birth_rate"]) { codes } }',
        )
        assert codes_of(grid) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            '{ jurisdiction(code: "64") { value(element: "births", period: "2024-13") '
            "{ value } } }",
            "period",
        ),
        (
            '{ jurisdiction(code: "64") { value(element: "birth", period: "2024") { value } } }',
            "unknown element",
        ),
        (
            '{ jurisdiction(code: "64") { value(element: "births", period: "2024", '
            'disaggregation: "sex=other") { value } } }',
            "sex has no option 'other'",
        ),
        (
            '{ jurisdiction(code: "64") { indicator(code: "nope", period: "2024") { value } } }',
            "unknown indicator",
        ),
        (
            '{ rollup(under: "640104", level: CITY, period: "2024", indicators: ["birth_rate"]) '
            "{ codes } }",
            "lies above",
        ),
        ('{ rollup(under: "64", level: CITY, period: "2024") { codes } }', "at least one"),
        (
            '{ rollup(under: "64", level: CITY, period: "2024", indicators: ["birth_rate"], '
            'orderBy: {column: "death_rate"}) { codes } }',
            "not among",
        ),
        (
            '{ series(code: "64", indicator: "birth_rate", from: "2024-01", to: "2024") '
            "{ values } }",
            "one type",
        ),
        (
            '{ series(code: "64", indicator: "birth_rate", from: "2024-05", to: "2024-01") '
            "{ values } }",
            "comes before",
        ),
    ],
)
def test_bad_arguments_say_what_is_wrong(
    admin: tuple[str, TestClient], query: str, message: str
) -> None:
    _, client = admin
    body = graphql(client, query)
    assert codes_of(body) == ["BAD_USER_INPUT"], body
    assert message in body["errors"][0]["message"]  # type: ignore[index]


def test_the_grid_orders_by_a_column_and_pages(admin: tuple[str, TestClient]) -> None:
    _, client = admin
    query = """query($after: String) { rollup(under: "6401", level: COUNTY, period: "2024-03",
      indicators: ["birth_rate"], elements: ["births"],
      orderBy: {column: "births", descending: true}, first: 2, after: $after) {
        codes totalCount hasNextPage endCursor columns { code kind values nullReasons } } }"""
    first = data_of(client, query)["rollup"]
    assert first["codes"][0] == XINGQING
    assert first["columns"][1]["values"][0] == 4.0
    assert first["columns"][1]["values"][1] is None
    assert first["hasNextPage"] is True
    seen = list(first["codes"])
    after = first["endCursor"]
    while after:
        page = data_of(client, query, after=after)["rollup"]
        seen += page["codes"]
        after = page["endCursor"] if page["hasNextPage"] else None
    assert len(seen) == len(set(seen)) == first["totalCount"]


@pytest.mark.parametrize(
    ("level", "rows", "most", "shown"),
    [
        # the catalogue (6), the root, the page, the villages' own values (villages are not
        # in the store and have nothing below to count)
        ("VILLAGE", 1000, 9, VILLAGE),
        # the catalogue (6), the root, the page, the store (2), the counts below
        ("TOWNSHIP", 200, 11, TOWNSHIP),
    ],
)
def test_a_grid_costs_the_same_statements_whatever_its_length(
    admin: tuple[str, TestClient],
    sql_statements: StatementCounter,
    level: str,
    rows: int,
    most: int,
    shown: str,
) -> None:
    _, client = admin
    query = """query($first: Int!, $level: Level!) { rollup(under: "64", level: $level,
      period: "2024-03", indicators: ["birth_rate", "sex_ratio_at_birth"],
      elements: ["births"], first: $first) {
        codes columns { values reportingUnits expectedUnits } } }"""
    data_of(client, query, first=1, level=level)  # the caller's token and grants are cached
    sql_statements.statements.clear()
    data_of(client, query, first=5, level=level)
    small = sql_statements.count
    sql_statements.statements.clear()
    big = data_of(client, query, first=rows, level=level)["rollup"]
    assert len(big["codes"]) == rows
    assert shown in big["codes"]
    assert sql_statements.count == small, sql_statements.statements
    assert sql_statements.count <= most, sql_statements.statements


def test_a_retired_unit_is_expected_only_for_periods_begun_before(
    admin: tuple[str, TestClient], tmp_path: Path
) -> None:
    url, client = admin
    query = """query($code: String!, $period: String!) { jurisdiction(code: $code) {
      value(element: "births", period: $period) { expectedUnits } } }"""

    def expected(code: str, period: str) -> int:
        found = data_of(client, query, code=code, period=period)
        return int(found["jurisdiction"]["value"]["expectedUnits"])

    periods = ["2024-03", "2024-04", "2024-Q1", "2024-Q2", "2024"]
    before = {period: expected(TOWNSHIP, period) for period in periods}
    assert len(set(before.values())) == 1
    retire(url, RETIRED, "2024-04-01", tmp_path)
    # Retired on 1 April: expected for every period that began before, not after.
    after = {period: expected(TOWNSHIP, period) for period in periods}
    whole = before["2024-03"]
    assert after == {
        "2024-03": whole,
        "2024-04": whole - 1,
        "2024-Q1": whole,
        "2024-Q2": whole - 1,
        "2024": whole,
    }
    assert [expected(RETIRED, period) for period in periods] == [1, 0, 1, 0, 1]
    # The grid lists it for the periods it was there for.
    grid = """query($period: String!) { rollup(under: "640104001", level: VILLAGE,
      period: $period, elements: ["births"], first: 500) { codes totalCount } }"""
    for period, listed in {"2024-03": True, "2024-Q1": True, "2024-04": False}.items():
        rows = data_of(client, grid, period=period)["rollup"]
        assert (RETIRED in rows["codes"]) is listed
        assert rows["totalCount"] == len(rows["codes"]) == whole - (not listed)


def test_an_indicator_is_only_as_complete_as_its_least_complete_side(
    admin: tuple[str, TestClient],
) -> None:
    _, client = admin
    # The fixture's village reported births and population; three more report births only.
    others = ["640104001005", "640104001007", "640104001008"]
    rows = [
        {
            "jurisdiction": code,
            "element": "births",
            "period": "2024-03",
            "disaggregation": "sex=male;parity=1",
            "value": 2,
        }
        for code in others
    ]
    assert data_of(client, SUBMIT, rows=rows)["submitValues"]["ok"]
    rate = data_of(
        client,
        """{ jurisdiction(code: "640104001") {
          indicator(code: "birth_rate", period: "2024-03") {
            reportingUnits expectedUnits numeratorReportingUnits denominatorReportingUnits } } }""",
    )["jurisdiction"]["indicator"]
    assert rate["numeratorReportingUnits"] == 4
    assert rate["denominatorReportingUnits"] == 1
    assert rate["reportingUnits"] == 1
    assert rate["expectedUnits"] > 4
