"""What a client can rely on in every answer: timestamps carry their offset, reasons are
required, periods are exactly what was written, and messages quote inputs short."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.errors import shown
from indicators.periods import Period, PeriodError
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from schema.root import schema_sdl
from schema.scalars import serialize_datetime
from tests.cli import quhua
from tests.conftest import TOKENS, client_for, data_of, graphql

# Away from the units other modules of the shared database write to.
VILLAGE = "640106001002"
SUBMIT = """mutation($rows: [ValueInput!]!, $reason: String!) {
  submitValues(input: $rows, reason: $reason) { ok changed errors { index code message } } }"""
DELETE = """mutation($rows: [ValueKeyInput!]!, $reason: String!) {
  deleteValues(input: $rows, reason: $reason) { ok changed } }"""
KEY = {
    "jurisdiction": VILLAGE,
    "element": "births",
    "period": "2024-03",
    "disaggregation": "sex=male;parity=1",
}
STORED = f'{{ jurisdiction(code: "{VILLAGE}") {{ values(period: "2024") {{ value }} }} }}'


@pytest.fixture(scope="module")
def admin(ningxia_url: str) -> Iterator[TestClient]:
    """The province administrator, with one value stored in a village."""
    url = ningxia_url
    assert quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url).exit_code == 0
    with client_for(url, TOKENS[url]) as client:
        stored = data_of(client, SUBMIT, rows=[{**KEY, "value": 2}], reason="first report")
        assert stored["submitValues"]["ok"]
        yield client


def codes_of(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


# ---- timestamps ---------------------------------------------------------------------------

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00")


def test_every_timestamp_carries_its_offset(admin: TestClient) -> None:
    data = data_of(
        admin,
        f'{{ jurisdiction(code: "{VILLAGE}") {{ values(period: "2024") {{ updatedAt }} '
        "auditTrail(first: 1) { edges { node { at } } } } "
        "me { tokenExpiresAt grants { grantedAt } } }",
    )
    unit, me = data["jurisdiction"], data["me"]
    stamps = [
        *(v["updatedAt"] for v in unit["values"]),
        *(e["node"]["at"] for e in unit["auditTrail"]["edges"]),
        me["tokenExpiresAt"],
        *(g["grantedAt"] for g in me["grants"]),
    ]
    assert len(stamps) >= 4
    for stamp in stamps:
        assert ISO_UTC.fullmatch(stamp), stamp
        assert dt.datetime.fromisoformat(stamp).utcoffset() == dt.timedelta(0)


def test_a_naive_or_foreign_instant_is_written_in_utc() -> None:
    naive = dt.datetime(2026, 12, 1, 10, 0)
    assert serialize_datetime(naive) == "2026-12-01T10:00:00+00:00"
    beijing = dt.datetime(2026, 12, 1, 18, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert serialize_datetime(beijing) == "2026-12-01T10:00:00.000005+00:00"
    # The contract keeps the scalar it had.
    assert '"""Date with time (isoformat)"""\nscalar DateTime\n' in schema_sdl()


# ---- reasons ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "\u3000\t\n"], ids=["empty", "spaces", "blank"])
def test_a_blank_reason_is_refused_and_nothing_is_written(admin: TestClient, reason: str) -> None:
    for query, rows in ((DELETE, [KEY]), (SUBMIT, [{**KEY, "value": 9}])):
        body = graphql(admin, query, rows=rows, reason=reason)
        assert codes_of(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["message"].startswith("reason: ")
    assert data_of(admin, STORED)["jurisdiction"]["values"] == [{"value": 2.0}]


def test_a_reason_is_required_and_bounded(admin: TestClient) -> None:
    omitted = graphql(
        admin,
        "mutation($rows: [ValueInput!]!) { submitValues(input: $rows) { ok } }",
        rows=[{**KEY, "value": 9}],
    )
    assert codes_of(omitted) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "reason" in omitted["errors"][0]["message"]
    long = graphql(admin, SUBMIT, rows=[{**KEY, "value": 9}], reason="x" * 1001)
    assert codes_of(long) == ["BAD_USER_INPUT"]
    assert long["errors"][0]["message"] == "reason: at most 1000 characters"
    assert data_of(admin, STORED)["jurisdiction"]["values"] == [{"value": 2.0}]


# ---- periods ------------------------------------------------------------------------------

NEAR_PERIODS = [
    " 2025-10",
    "2025-10 ",
    "2025-10\n",
    "\t2025",
    "2025-Q1 ",
    "２０２５-10",
    "2025-１0",
    "2025-1",
    "2025-q1",
    "2025-10-",
]


@pytest.mark.parametrize("text", NEAR_PERIODS)
def test_a_period_is_exactly_one_of_the_three_spellings(text: str) -> None:
    with pytest.raises(PeriodError, match="is not a period") as refused:
        Period.parse(text)
    assert str(refused.value).startswith(f"{text!r} is not a period")


def test_the_api_refuses_a_period_it_would_have_trimmed(admin: TestClient) -> None:
    body = graphql(
        admin,
        '{ jurisdiction(code: "64") { value(element: "births", period: " 2024-03") { value } } }',
    )
    assert codes_of(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["message"].startswith("period: ' 2024-03' is not a period")
    refused = data_of(
        admin, SUBMIT, rows=[{**KEY, "period": "2024-03 ", "value": 9}], reason="late"
    )["submitValues"]
    assert refused["ok"] is False
    assert refused["errors"][0]["message"].startswith("'2024-03 ' is not a period")
    assert data_of(admin, STORED)["jurisdiction"]["values"] == [{"value": 2.0}]


# ---- long inputs --------------------------------------------------------------------------

LONG = "q" * 5000


def test_shown_quotes_at_most_its_limit() -> None:
    assert shown("births") == "'births'"
    assert shown("x" * 40) == repr("x" * 40)
    assert shown("x" * 41) == repr("x" * 40) + "…"
    assert shown("ab'c" * 30, limit=4) == repr("ab'c") + "…"


def _messages(body: dict[str, Any]) -> list[str]:
    errors = body.get("errors") or []
    assert errors, body
    return [e["message"] for e in errors]


def province(field: str) -> str:
    return f'{{ jurisdiction(code: "64") {{ {field} {{ value }} }} }}'


@pytest.mark.parametrize(
    "query",
    [
        province(f'value(element: "{LONG}", period: "2024")'),
        province(f'value(element: "births", period: "{LONG}")'),
        province(f'value(element: "births", period: "2024", disaggregation: "sex={LONG}")'),
        province(f'value(element: "births", period: "2024", disaggregation: "{LONG}=male")'),
        province(f'indicator(code: "{LONG}", period: "2024")'),
        f'{{ jurisdictions(under: "{LONG}") {{ totalCount }} }}',
        f'{{ rollup(under: "{LONG}", level: COUNTY, period: "2024", elements: ["births"]) '
        "{ codes } }",
        f'{{ rollup(under: "64", level: COUNTY, period: "2024", elements: ["births"], '
        f'orderBy: {{column: "{LONG}"}}) {{ codes }} }}',
        f'{{ series(code: "{LONG}", indicator: "birth_rate", from: "2024", to: "2024") '
        "{ values } }",
    ],
    ids=[
        "element",
        "period",
        "option",
        "category",
        "indicator",
        "jurisdictions under",
        "rollup under",
        "rollup orderBy",
        "series code",
    ],
)
def test_a_long_argument_is_not_echoed_whole(admin: TestClient, query: str) -> None:
    for message in _messages(graphql(admin, query)):
        assert LONG[:41] not in message
        assert len(message) < 300, message


def test_a_long_field_of_a_row_is_not_echoed_whole(admin: TestClient) -> None:
    rows = [
        {**KEY, "jurisdiction": LONG, "value": 1},
        {**KEY, "element": LONG, "value": 1},
        {**KEY, "period": LONG, "value": 1},
        {**KEY, "disaggregation": f"sex={LONG};parity=1", "value": 1},
    ]
    refused = data_of(admin, SUBMIT, rows=rows, reason="long fields")["submitValues"]
    assert sorted({e["index"] for e in refused["errors"]}) == [0, 1, 2, 3]
    for error in refused["errors"]:
        assert LONG[:41] not in error["message"]
        assert len(error["message"]) < 300, error
