"""The change feed: what moved after a cursor, scoped, in commit order, missing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.cli import quhua
from tests.conftest import client_for, data_of, graphql
from tests.databases import issue_token, load_tree

SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "report") { ok errors { message } } }"""
CHANGES = """query($under: String!, $level: Level!, $after: String, $first: Int,
  $periodType: PeriodType! = MONTH, $elements: [String!], $indicators: [String!]) {
  changes(under: $under, level: $level, after: $after, first: $first, periodType: $periodType,
          elements: $elements, indicators: $indicators) {
    changes { unit level period kind code value numerator denominator reportingUnits
              expectedUnits cursor }
    resets { sequence reason }
    endCursor hasMore } }"""
VILLAGE = "640104001002"
OTHER_VILLAGE = "640104001005"
OTHER_COUNTY_VILLAGE = "640105001002"
XINGQING = "640104"


def births(unit: str, period: str, value: float | None, sex: str = "male") -> dict[str, Any]:
    return {
        "jurisdiction": unit,
        "element": "births",
        "period": period,
        "disaggregation": f"sex={sex};parity=1",
        "value": value,
    }


@pytest.fixture
def ningxia(migrated_url: str) -> Iterator[tuple[str, TestClient]]:
    load_tree(migrated_url)
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=migrated_url)
    assert loaded.exit_code == 0
    with client_for(migrated_url, issue_token(migrated_url, "admin", "admin", "64")) as client:
        yield migrated_url, client


def follow(
    client: TestClient, after: str | None = None, **arguments: Any
) -> tuple[dict[Any, Any], str]:
    """Every page from the cursor: the latest figure of each aggregate, and the end."""
    held: dict[Any, Any] = {}
    while True:
        page = data_of(client, CHANGES, after=after, **arguments)["changes"]
        for change in page["changes"]:
            held[(change["unit"], change["period"], change["kind"], change["code"])] = change[
                "value"
            ]
        after = page["endCursor"]
        if not page["hasMore"]:
            return held, after


def test_feed_gives_moved_aggregates_at_the_level(ningxia: tuple[str, TestClient]) -> None:
    _, client = ningxia
    done = data_of(
        client, SUBMIT, rows=[births(VILLAGE, "2024-03", 3), births(OTHER_VILLAGE, "2024-03", 2)]
    )
    assert done["submitValues"]["ok"], done
    held, end = follow(client, under="64", level="COUNTY", elements=["births"])
    assert held == {(XINGQING, "2024-03", "element", "births"): 5.0}
    # Nothing after the end; a change after it comes next.
    assert follow(client, end, under="64", level="COUNTY", elements=["births"])[0] == {}
    assert data_of(client, SUBMIT, rows=[births(VILLAGE, "2024-03", 10)])["submitValues"]["ok"]
    held, end = follow(client, end, under="64", level="COUNTY", elements=["births"])
    assert held == {(XINGQING, "2024-03", "element", "births"): 12.0}
    held, _ = follow(
        client, None, under="64", level="COUNTY", elements=["births"], periodType="YEAR"
    )
    assert held == {(XINGQING, "2024", "element", "births"): 12.0}
