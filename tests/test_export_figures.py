"""An export's figures are GraphQL's: the same grid for the same arguments, at every level,
for months, quarters, years and statistical years, approved data only or not; an
element's options are GraphQL's `value(disaggregation:)`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from quhua.exports import aggregates
from tests.conftest import client_for, data_of
from tests.export_world import export, export_world

INDICATORS = ["birth_rate", "sex_ratio_at_birth", "funding_per_capita"]
ELEMENTS = ["births", "deaths", "population", "fees_collected", "funding"]
GRID = """query($under: String!, $level: Level!, $period: String!, $indicators: [String!],
  $elements: [String!], $approvedOnly: Boolean!) {
  rollup(under: $under, level: $level, period: $period, indicators: $indicators,
    elements: $elements, first: 1000, approvedOnly: $approvedOnly) {
    codes columns { code kind values numerators denominators reportingUnits expectedUnits
      nullReasons } } }"""
VALUE = """query($code: String!, $element: String!, $period: String!, $cell: String!) {
  jurisdiction(code: $code) { value(element: $element, period: $period,
    disaggregation: $cell) { value reportingUnits expectedUnits nullReason } } }"""
ASKED = [
    ("2024-01", "2024-06", None),
    ("2024-Q1", "2024-Q2", None),
    ("2024", "2024", None),
    ("2024FP", "2024FP", None),
    ("2024-01", "2024-12", "quarter"),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    with export_world(str(request.param), tmp_path_factory.mktemp("figures")) as found:
        yield found


def _ndjson(body: bytes) -> list[dict[str, Any]]:
    lines = body.decode().split("\n")
    assert lines[-2:] == ['{"end":true}', ""]
    return [json.loads(line) for line in lines[:-2]]


def _rounded(value: float | None, kind: str) -> float | None:
    return None if value is None or kind == "indicator" else round(value, 2)


@pytest.mark.parametrize("approved_only", [False, True])
@pytest.mark.parametrize("level", ["province", "city", "county", "township", "village"])
def test_figures_are_the_grids(world: dict[str, str], level: str, approved_only: bool) -> None:
    with client_for(world["url"], world["admin"]) as client:
        for first, last, period_type in ASKED:
            params = {
                "under": "64",
                "level": level,
                "from": first,
                "to": last,
                "indicators": ",".join(INDICATORS),
                "elements": ",".join(ELEMENTS),
                "format": "ndjson",
                "approved_only": str(approved_only).lower(),
            }
            if period_type:
                params["period_type"] = period_type
            response = export(client, "/export/aggregates", **params)
            assert response.status_code == 200, response.text
            rows = _ndjson(response.content)
            periods = sorted({row["period"] for row in rows}, key=[r["period"] for r in rows].index)
            expected = []
            for period in periods:
                grid = data_of(
                    client,
                    GRID,
                    under="64",
                    level=level.upper(),
                    period=period,
                    indicators=INDICATORS,
                    elements=ELEMENTS,
                    approvedOnly=approved_only,
                )["rollup"]
                for row, code in enumerate(grid["codes"]):
                    for column in grid["columns"]:
                        kind = column["kind"].lower()
                        expected.append(
                            {
                                "jurisdiction": code,
                                "element": column["code"],
                                "period": period,
                                "kind": kind,
                                "value": _rounded(column["values"][row], kind)
                                if kind == "element"
                                else column["values"][row],
                                "numerator": _rounded(column["numerators"][row], kind)
                                if kind == "element"
                                else column["numerators"][row],
                                "denominator": column["denominators"][row],
                                "reporting": column["reportingUnits"][row],
                                "expected": column["expectedUnits"][row],
                                "null_reason": column["nullReasons"][row],
                            }
                        )
            found = [{key: row[key] for key in expected[0]} for row in rows]
            assert found == expected, (first, last, period_type)
            assert approved_only or any(row["value"] is not None for row in found)


def test_options_are_graphqls_values(world: dict[str, str]) -> None:
    with client_for(world["url"], world["admin"]) as client:
        response = export(
            client,
            "/export/aggregates",
            under="64",
            level="village",
            **{"from": "2024-03", "to": "2024-04"},
            elements="births,population",
            disaggregate="true",
            format="ndjson",
        )
        rows = _ndjson(response.content)
        assert len(rows) == 2 * 2 * (6 + 2)
        for row in rows:
            found = data_of(
                client,
                VALUE,
                code=row["jurisdiction"],
                element=row["element"],
                period=row["period"],
                cell=row["disaggregation"],
            )["jurisdiction"]["value"]
            assert (
                row["value"],
                row["reporting"],
                row["expected"],
                row["null_reason"],
            ) == (
                found["value"],
                found["reportingUnits"],
                found["expectedUnits"],
                found["nullReason"],
            ), row


@pytest.mark.parametrize("ahead", [1, 3, aggregates.BUCKETS_AHEAD])
def test_a_range_is_its_periods_one_by_one(
    world: dict[str, str], monkeypatch: pytest.MonkeyPatch, ahead: int
) -> None:
    """The figures and approvals read ahead for several periods are each period's own."""
    monkeypatch.setattr(aggregates, "BUCKETS_AHEAD", ahead)
    months = [f"2024-{month:02d}" for month in range(1, 7)]
    with client_for(world["url"], world["admin"]) as client:
        for level in ("county", "township", "village"):
            asked = {
                "under": "64",
                "level": level,
                "indicators": ",".join(INDICATORS),
                "elements": ",".join(ELEMENTS),
                "disaggregate": "true",
                "format": "csv",
            }

            def lines(first: str, last: str, asked: dict[str, str] = asked) -> list[str]:
                response = export(client, "/export/aggregates", **asked, to=last, **{"from": first})
                assert response.status_code == 200, response.text
                return response.text.splitlines()[1:]

            whole = lines(months[0], months[-1])
            alone = [line for month in months for line in lines(month, month)]
            assert whole == alone, level
            # The township approved March: its own rows and its villages' say so.
            approved = any(",2024-03," in line and ",approved," in line for line in whole)
            assert approved == (level != "county"), level
