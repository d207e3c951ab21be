"""aggregate_reader reads figures only where they are sums of several units' reports.

At or below a level that reports an element, a figure is a unit's own reported value (a
village's births, a township's funding), and reading it needs the values themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from starlette.testclient import TestClient

from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.cli import quhua
from tests.conftest import TOKENS, client_for, data_of, graphql
from tests.databases import issue_token

COUNTY = "640104"
TOWNSHIP = "640104001"
VILLAGE = "640104001002"
# A village of another township of the same county.
ELSEWHERE = "640104002001"
SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "aggregate reader test") { ok errors { message } } }"""


def _rows() -> list[dict[str, Any]]:
    births = {"jurisdiction": VILLAGE, "element": "births", "period": "2024-03"}
    population = {"jurisdiction": VILLAGE, "element": "population", "period": "2024-03"}
    funding = {"jurisdiction": TOWNSHIP, "element": "funding", "period": "2024-Q1"}
    return [
        {**births, "disaggregation": "sex=male;parity=1", "value": 3},
        {**births, "disaggregation": "sex=female;parity=1", "value": 1},
        {**population, "disaggregation": "sex=male", "value": 600},
        {**population, "disaggregation": "sex=female", "value": 600},
        {**funding, "value": 12000},
    ]


@pytest.fixture(scope="module")
def callers(ningxia_url: str) -> Iterator[dict[str, TestClient]]:
    """Values of one village and one township; an aggregate reader of the province, a viewer
    of the township, and a subject that is both."""
    url = ningxia_url
    assert quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url).exit_code == 0
    with client_for(url, TOKENS[url]) as admin:
        assert data_of(admin, SUBMIT, rows=_rows())["submitValues"]["ok"]
    issue_token(url, "reader-and-viewer", "viewer", TOWNSHIP)
    tokens = {
        "reader": issue_token(url, "province-aggregates", "aggregate_reader", "64"),
        "viewer": issue_token(url, "township-viewer", "viewer", TOWNSHIP),
        "both": issue_token(url, "reader-and-viewer", "aggregate_reader", "64"),
    }
    with ExitStack() as stack:
        yield {name: stack.enter_context(client_for(url, token)) for name, token in tokens.items()}


def refusal(body: dict[str, Any]) -> str:
    """The one FORBIDDEN error of a refused request, by its message."""
    errors = body.get("errors") or []
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"], body
    message: str = errors[0]["message"]
    return message


def one(code: str, field: str) -> str:
    return f'{{ jurisdiction(code: "{code}") {{ {field} }} }}'


BIRTHS = 'value(element: "births", period: "2024-03") { value }'
FUNDING = 'value(element: "funding", period: "2024-Q1") { value }'
BIRTH_RATE = 'indicator(code: "birth_rate", period: "2024-03") { value }'
FUNDING_PER_CAPITA = 'indicator(code: "funding_per_capita", period: "2024-Q1") { value }'
ALL = 'indicators(period: "2024-03") { code value }'


@pytest.mark.parametrize(
    ("query", "unit", "element", "level"),
    [
        (one(VILLAGE, BIRTHS), VILLAGE, "births", "village"),
        (one(VILLAGE, BIRTH_RATE), VILLAGE, "births", "village"),
        (one(VILLAGE, ALL), VILLAGE, "", "village"),
        # Funding is reported by townships and counties: theirs are reports, not sums.
        (one(TOWNSHIP, FUNDING), TOWNSHIP, "funding", "township"),
        (one(COUNTY, FUNDING), COUNTY, "funding", "county"),
        # An indicator reveals the report of any element it reads, once the rest is known.
        (one(COUNTY, FUNDING_PER_CAPITA), COUNTY, "funding", "county"),
        (
            f'{{ rollup(under: "{TOWNSHIP}", level: VILLAGE, period: "2024-03", '
            'indicators: ["birth_rate"]) { codes } }',
            TOWNSHIP,
            "births",
            "village",
        ),
        (
            '{ rollup(under: "64", level: VILLAGE, period: "2024-03", elements: ["births"], '
            'orderBy: {column: "births", descending: true}, first: 5) { codes } }',
            "64",
            "births",
            "village",
        ),
        (
            '{ rollup(under: "6401", level: COUNTY, period: "2024-Q1", '
            'indicators: ["birth_rate"], elements: ["funding"]) { codes } }',
            "6401",
            "funding",
            "county",
        ),
        (
            f'{{ series(code: "{VILLAGE}", indicator: "birth_rate", from: "2024-01", '
            'to: "2024-03") { values } }',
            VILLAGE,
            "births",
            "village",
        ),
    ],
    ids=[
        "village value",
        "village indicator",
        "village indicators",
        "township funding",
        "county funding",
        "county indicator of funding",
        "grid of villages",
        "grid of villages by value",
        "grid of counties",
        "series of a village",
    ],
)
def test_an_aggregate_reader_cannot_read_a_report_as_a_figure(
    callers: dict[str, TestClient], query: str, unit: str, element: str, level: str
) -> None:
    message = refusal(graphql(callers["reader"], query))
    assert message.startswith(f"{unit}: {element}")
    assert f"at the {level} level are reported values" in message


def test_above_the_reporting_levels_the_aggregate_reader_reads_sums(
    callers: dict[str, TestClient],
) -> None:
    reader = callers["reader"]
    township = data_of(reader, one(TOWNSHIP, f"{BIRTHS} {BIRTH_RATE}"))["jurisdiction"]
    assert township["value"] == {"value": 4.0}
    assert township["indicator"]["value"] == pytest.approx(4 / 1200 * 1000 * 12)
    city = data_of(reader, one("6401", f"{FUNDING} {FUNDING_PER_CAPITA}"))["jurisdiction"]
    assert city["value"] == {"value": 12000.0}
    grid = data_of(
        reader,
        f'{{ rollup(under: "{COUNTY}", level: TOWNSHIP, period: "2024-03", '
        'indicators: ["birth_rate"], first: 1) { codes columns { values } } }',
    )["rollup"]
    assert grid["codes"] == [TOWNSHIP]
    series = data_of(
        reader,
        f'{{ series(code: "{TOWNSHIP}", indicator: "birth_rate", from: "2024-02", '
        'to: "2024-03") { values } }',
    )["series"]
    assert series["values"][0] is None
    assert series["values"][1] == pytest.approx(4 / 1200 * 1000 * 12)


def test_who_may_read_values_reads_the_same_figures(callers: dict[str, TestClient]) -> None:
    query = one(VILLAGE, f"{BIRTHS} {BIRTH_RATE}")
    for name in ("viewer", "both"):
        found = data_of(callers[name], query)["jurisdiction"]
        assert found["value"] == {"value": 4.0}
        grid = data_of(
            callers[name],
            f'{{ rollup(under: "{TOWNSHIP}", level: VILLAGE, period: "2024-03", '
            'elements: ["births"], orderBy: {column: "births", descending: true}, first: 1) '
            "{ codes columns { values } } }",
        )["rollup"]
        assert grid["codes"] == [VILLAGE]
        assert grid["columns"][0]["values"] == [4.0]
    # Values at one township do not open the villages of another to the aggregate reader.
    assert refusal(graphql(callers["both"], one(ELSEWHERE, BIRTHS))).startswith(ELSEWHERE)
    assert refusal(
        graphql(
            callers["both"],
            f'{{ rollup(under: "{COUNTY}", level: VILLAGE, period: "2024-03", '
            'elements: ["births"]) { codes } }',
        )
    ).startswith(COUNTY)
