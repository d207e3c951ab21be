"""Averages and latest values over quarters and years, written one month at a time as units
report: each write's effect on the windows follows from the change (appended, corrected
behind a later month, the latest value deleted, the only value deleted)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import client_for, data_of
from tests.databases import issue_token

SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "report") { ok errors { message } } }"""
DELETE = """mutation($keys: [ValueKeyInput!]!) {
  deleteValues(input: $keys, reason: "withdrawn") { ok errors { message } } }"""
VILLAGE = "640104001002"
COUNTY = "640104"
ELEMENTS = {"population": "sex=male", "married_women": ""}


def _cell(element: str, period: str) -> dict[str, Any]:
    return {
        "jurisdiction": VILLAGE,
        "element": element,
        "period": period,
        "disaggregation": ELEMENTS[element],
    }


def _submit(client: TestClient, element: str, period: str, value: float) -> None:
    rows = [{**_cell(element, period), "value": value}]
    assert data_of(client, SUBMIT, rows=rows)["submitValues"]["ok"]


def _delete(client: TestClient, element: str, period: str) -> None:
    assert data_of(client, DELETE, keys=[_cell(element, period)])["deleteValues"]["ok"]


def _windows(client: TestClient, element: str) -> tuple[float | None, float | None]:
    """The county's figure for 2024-Q1 and for 2024."""
    query = """query($element: String!, $cell: String) { jurisdiction(code: "%s") {
      quarter: value(element: $element, period: "2024-Q1", disaggregation: $cell) { value }
      year: value(element: $element, period: "2024", disaggregation: $cell) { value } } }"""
    data = data_of(client, query % COUNTY, element=element, cell=ELEMENTS[element] or None)
    figures = data["jurisdiction"]
    return figures["quarter"]["value"], figures["year"]["value"]


@pytest.fixture
def client(catalogue_url: str) -> Any:
    with client_for(catalogue_url, issue_token(catalogue_url, "admin", "admin", "64")) as client:
        yield client


def test_latest_values_follow_each_month(client: TestClient) -> None:
    _submit(client, "married_women", "2024-01", 50)
    assert _windows(client, "married_women") == (50, 50)
    _submit(client, "married_women", "2024-02", 60)  # after the latest
    assert _windows(client, "married_women") == (60, 60)
    _submit(client, "married_women", "2024-03", 70)
    _submit(client, "married_women", "2024-02", 65)  # behind a later month: no change
    assert _windows(client, "married_women") == (70, 70)
    _delete(client, "married_women", "2024-03")  # the latest goes: the one before counts
    assert _windows(client, "married_women") == (65, 65)
    _submit(client, "married_women", "2024-02", 66)  # the latest corrected
    assert _windows(client, "married_women") == (66, 66)


def test_latest_values_across_months_not_reported(client: TestClient) -> None:
    _submit(client, "married_women", "2024-01", 50)
    _submit(client, "married_women", "2024-03", 70)  # February not reported
    assert _windows(client, "married_women") == (70, 70)
    _submit(client, "married_women", "2024-01", 55)  # behind a later month
    _delete(client, "married_women", "2024-03")
    assert _windows(client, "married_women") == (55, 55)
    _submit(client, "married_women", "2024-06", 90)  # the year's latest was January's
    assert _windows(client, "married_women") == (55, 90)


def test_averages_follow_each_month(client: TestClient) -> None:
    _submit(client, "population", "2024-01", 100)
    _submit(client, "population", "2024-02", 200)  # appended: (100 + 200) / 2
    assert _windows(client, "population") == (150, 150)
    _submit(client, "population", "2024-02", 260)  # corrected: (100 + 260) / 2
    assert _windows(client, "population") == (180, 180)
    _submit(client, "population", "2024-04", 90)  # a new quarter; the year (100 + 260 + 90) / 3
    assert _windows(client, "population") == (180, 150)
    _delete(client, "population", "2024-02")
    assert _windows(client, "population") == (100, 95)
    _delete(client, "population", "2024-01")  # the quarter's only value
    assert _windows(client, "population") == (None, 90)
