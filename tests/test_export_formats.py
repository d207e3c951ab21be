"""The four formats against hand-written references, on a tiny tree: CSV bytes, NDJSON,
DHIS2 dataValueSets, ADX valid against the published schema; BOM, gzip, the file name."""

from __future__ import annotations

import datetime as dt
import getpass
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from quhua.exports.formats import ValueShapes
from quhua.exports.values import ValueRow
from tests.conftest import client_for
from tests.export_world import export, export_world

SCHEMA = Path(__file__).parent / "data" / "adx" / "adx_loose.xsd"
ADX = "{urn:ihe:qrph:adx:2015}"
MARCH_APRIL = {"under": "640104", "level": "township", "from": "2024-03", "to": "2024-04"}
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

AGGREGATES_CSV = """\
jurisdiction,element,period,value,disaggregation,kind,name,numerator,denominator,reporting,expected,approval,null_reason
640104001,birth_rate,2024-03,40,,indicator,凤凰北街街道,4,1200,1,2,approved,
640104001,deaths,2024-03,2,,element,凤凰北街街道,2,,1,2,approved,
640104001,population,2024-03,600,sex=female,element,凤凰北街街道,600,,1,2,approved,
640104001,population,2024-03,600,sex=male,element,凤凰北街街道,600,,1,2,approved,
640104001,birth_rate,2024-04,,,indicator,凤凰北街街道,2,,0,2,,no unit reported population for 2024-04
640104001,deaths,2024-04,,,element,凤凰北街街道,,,0,2,,no unit reported deaths for 2024-04
640104001,population,2024-04,,sex=female,element,凤凰北街街道,,,0,2,,no unit reported population for 2024-04
640104001,population,2024-04,,sex=male,element,凤凰北街街道,,,0,2,,no unit reported population for 2024-04
"""  # noqa: E501 - rows as the file holds them

VALUES_CSV = """\
jurisdiction,element,period,value,disaggregation
640104001,funding,2024-Q1,12000.25,
640104001001,deaths,2024-03,2,
640104001001,fees_collected,2024-03,1234.5,
640104001001,births,2024-04,2,parity=1;sex=female
640104001002,population,2024-03,600,sex=male
640104001002,population,2024-03,600,sex=female
640104001002,births,2024-03,3,parity=1;sex=male
640104001002,births,2024-03,1,parity=2;sex=female
"""

QUARTERS_NDJSON = [
    {
        "jurisdiction": "640104001",
        "element": "funding",
        "period": "2024-Q1",
        "value": 12000.25,
        "disaggregation": "",
        "kind": "element",
        "name": "凤凰北街街道",
        "numerator": 12000.25,
        "denominator": None,
        "reporting": 1,
        "expected": 1,
        "approval": "partly_approved",
        "null_reason": None,
    },
    {
        "jurisdiction": "640104001",
        "element": "fees_collected",
        "period": "2024-Q1",
        "value": 1234.5,
        "disaggregation": "",
        "kind": "element",
        "name": "凤凰北街街道",
        "numerator": 1234.5,
        "denominator": None,
        "reporting": 1,
        "expected": 2,
        "approval": "partly_approved",
        "null_reason": None,
    },
    {
        "jurisdiction": "640104001",
        "element": "funding",
        "period": "2024-Q2",
        "value": None,
        "disaggregation": "",
        "kind": "element",
        "name": "凤凰北街街道",
        "numerator": None,
        "denominator": None,
        "reporting": 0,
        "expected": 1,
        "approval": None,
        "null_reason": "no unit reported funding for 2024-Q2",
    },
    {
        "jurisdiction": "640104001",
        "element": "fees_collected",
        "period": "2024-Q2",
        "value": None,
        "disaggregation": "",
        "kind": "element",
        "name": "凤凰北街街道",
        "numerator": None,
        "denominator": None,
        "reporting": 0,
        "expected": 2,
        "approval": None,
        "null_reason": "no unit reported fees_collected for 2024-Q2",
    },
]

# ADX of the March–April aggregates, disaggregated: rows without a value are left out.
AGGREGATES_ADX = [
    ("640104001", "2024-03-01/P1M", "birth_rate", "40", {}),
    ("640104001", "2024-03-01/P1M", "deaths", "2", {}),
    ("640104001", "2024-03-01/P1M", "population", "600", {"sex": "female"}),
    ("640104001", "2024-03-01/P1M", "population", "600", {"sex": "male"}),
]
VALUES_ADX = [
    ("640104001", "2024-01-01/P3M", "funding", "12000.25", {}),
    ("640104001001", "2024-03-01/P1M", "deaths", "2", {}),
    ("640104001001", "2024-03-01/P1M", "fees_collected", "1234.5", {}),
    ("640104001001", "2024-04-01/P1M", "births", "2", {"parity": "1", "sex": "female"}),
    ("640104001002", "2024-03-01/P1M", "population", "600", {"sex": "male"}),
    ("640104001002", "2024-03-01/P1M", "population", "600", {"sex": "female"}),
    ("640104001002", "2024-03-01/P1M", "births", "3", {"parity": "1", "sex": "male"}),
    ("640104001002", "2024-03-01/P1M", "births", "1", {"parity": "2", "sex": "female"}),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    with export_world(str(request.param), tmp_path_factory.mktemp("exports")) as found:
        yield found


def admin_get(world: dict[str, str], path: str, **params: Any) -> Any:
    with client_for(world["url"], world["admin"]) as client:
        response = export(client, path, **params)
    assert response.status_code == 200, response.text
    return response


def adx_rows(document: bytes) -> list[tuple[Any, ...]]:
    """(orgUnit, period, dataElement, value, options) of each dataValue, in order."""
    root = etree.fromstring(document)
    return [
        (
            group.get("orgUnit"),
            group.get("period"),
            value.get("dataElement"),
            value.get("value"),
            {str(k): str(v) for k, v in value.attrib.items() if k not in {"dataElement", "value"}},
        )
        for group in root.iter(f"{ADX}group")
        for value in group.iter(f"{ADX}dataValue")
    ]


def assert_valid_adx(document: bytes) -> None:
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    parsed = etree.fromstring(document)
    assert schema.validate(parsed), schema.error_log


def test_aggregates_csv_is_the_reference_byte_for_byte(world: dict[str, str]) -> None:
    response = admin_get(
        world,
        "/export/aggregates",
        **MARCH_APRIL,
        indicators="birth_rate",
        elements="deaths,population",
        disaggregate="true",
    )
    assert response.content == AGGREGATES_CSV.encode()
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="quhua-aggregates-640104-2024-03-2024-04.csv"'
    )


def test_excel_variant_is_the_same_bytes_after_a_bom(world: dict[str, str]) -> None:
    asked = {**MARCH_APRIL, "indicators": "birth_rate", "elements": "deaths,population"}
    plain = admin_get(world, "/export/aggregates", **asked, disaggregate="true").content
    excel = admin_get(world, "/export/aggregates", **asked, disaggregate="true", bom="true")
    assert excel.content == b"\xef\xbb\xbf" + plain


def test_values_csv_is_the_reference_and_imports_unchanged(world: dict[str, str]) -> None:
    response = admin_get(world, "/export/values", under="640104", **{"from": "2024", "to": "2024"})
    assert response.content == VALUES_CSV.encode()
    assert response.headers["content-disposition"] == (
        'attachment; filename="quhua-values-640104-2024-2024.csv"'
    )


def test_aggregates_ndjson_rows_carry_cursors_and_an_end(world: dict[str, str]) -> None:
    response = admin_get(
        world,
        "/export/aggregates",
        under="640104",
        level="township",
        **{"from": "2024-Q1", "to": "2024-Q2"},
        elements="funding,fees_collected",
        format="ndjson",
    )
    assert response.headers["content-type"] == "application/x-ndjson; charset=utf-8"
    lines = response.content.decode().split("\n")
    assert lines[-2:] == ['{"end":true}', ""]
    rows = [json.loads(line) for line in lines[:-2]]
    cursors = [row.pop("cursor") for row in rows]
    assert rows == QUARTERS_NDJSON
    assert len(set(cursors)) == len(cursors)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", cursor) for cursor in cursors)
    # Unescaped UTF-8, as the contract says.
    assert "凤凰北街街道" in response.text


def test_values_dvs_has_dhis2_fields_and_last_authors(world: dict[str, str]) -> None:
    response = admin_get(
        world, "/export/values", under="640104001", **{"from": "2024", "to": "2024"}, format="dvs"
    )
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.content.endswith(b"\n]}\n")
    values = json.loads(response.content)["dataValues"]
    assert all(STAMP.fullmatch(value.pop("lastUpdated")) for value in values)
    operator = f"cli:{getpass.getuser()}"
    assert values == [
        {
            "dataElement": element,
            "period": period,
            "orgUnit": unit,
            "categoryOptionCombo": combo,
            "attributeOptionCombo": "default",
            "value": value,
            "storedBy": operator,
        }
        for unit, element, period, value, combo in [
            ("640104001", "funding", "2024Q1", "12000.25", "default"),
            ("640104001001", "deaths", "202403", "2", "default"),
            ("640104001001", "fees_collected", "202403", "1234.5", "default"),
            ("640104001001", "births", "202404", "2", "parity=1;sex=female"),
            ("640104001002", "population", "202403", "600", "sex=male"),
            ("640104001002", "population", "202403", "600", "sex=female"),
            ("640104001002", "births", "202403", "3", "parity=1;sex=male"),
            ("640104001002", "births", "202403", "1", "parity=2;sex=female"),
        ]
    ]


def test_aggregates_dvs_leaves_out_rows_without_a_value(world: dict[str, str]) -> None:
    response = admin_get(
        world,
        "/export/aggregates",
        **MARCH_APRIL,
        indicators="birth_rate",
        elements="population",
        disaggregate="true",
        format="dvs",
        cursors="true",
    )
    values = json.loads(response.content)["dataValues"]
    assert [
        (v["orgUnit"], v["period"], v["dataElement"], v["categoryOptionCombo"], v["value"])
        for v in values
    ] == [
        ("640104001", "202403", "birth_rate", "default", "40"),
        ("640104001", "202403", "population", "sex=female", "600"),
        ("640104001", "202403", "population", "sex=male", "600"),
    ]
    assert {v["storedBy"] for v in values} == {"quhua"}
    assert all(v["cursor"] for v in values)


def test_statistical_years_are_dhis2_financial_october_years(world: dict[str, str]) -> None:
    response = admin_get(
        world,
        "/export/aggregates",
        under="640104",
        level="township",
        **{"from": "2024FP", "to": "2024FP"},
        elements="births",
        format="dvs",
    )
    (value,) = json.loads(response.content)["dataValues"]
    assert (value["period"], value["value"]) == ("2023Oct", "6")
    adx = admin_get(
        world,
        "/export/aggregates",
        under="640104",
        level="township",
        **{"from": "2024FP", "to": "2024FP"},
        elements="births",
        format="adx",
    )
    assert [row[1] for row in adx_rows(adx.content)] == ["2023-10-01/P1Y"]


@pytest.mark.parametrize("cursors", ["false", "true"])
def test_adx_validates_against_the_schema(world: dict[str, str], cursors: str) -> None:
    aggregates = admin_get(
        world,
        "/export/aggregates",
        **MARCH_APRIL,
        indicators="birth_rate",
        elements="deaths,population",
        disaggregate="true",
        format="adx",
        cursors=cursors,
    )
    assert aggregates.headers["content-type"] == "application/adx+xml; charset=utf-8"
    assert_valid_adx(aggregates.content)
    assert adx_rows(aggregates.content) == AGGREGATES_ADX
    values = admin_get(
        world,
        "/export/values",
        under="640104",
        **{"from": "2024", "to": "2024"},
        format="adx",
        cursors=cursors,
    )
    assert_valid_adx(values.content)
    assert adx_rows(values.content) == VALUES_ADX
    root = etree.fromstring(values.content)
    assert root.tag == f"{ADX}adx"
    assert {group.get("dataSet") for group in root.iter(f"{ADX}group")} == {"QUHUA"}
    cursor_marks = [
        node
        for node in root.iter(etree.PI)
        if isinstance(node, etree._ProcessingInstruction) and node.target == "cursor"
    ]
    assert len(cursor_marks) == (len(VALUES_ADX) if cursors == "true" else 0)


def test_an_adx_export_with_nothing_to_export_is_not_found(world: dict[str, str]) -> None:
    with client_for(world["url"], world["admin"]) as client:
        response = export(
            client,
            "/export/values",
            under="640104",
            **{"from": "2020", "to": "2020"},
            format="adx",
        )
    assert response.status_code == 404
    assert "ADX has no empty document" in response.json()["errors"][0]["message"]


def test_gzip_when_the_client_accepts_it(world: dict[str, str]) -> None:
    asked = {"under": "640104", "from": "2024", "to": "2024"}
    with client_for(world["url"], world["admin"]) as client:
        plain = export(client, "/export/values", **asked)
        with client.stream(
            "GET", "/export/values", params=asked, headers={"Accept-Encoding": "gzip"}
        ) as response:
            raw = b"".join(response.iter_raw())
            headers = response.headers
        refused = client.get(
            "/export/values", params=asked, headers={"Accept-Encoding": "gzip;q=0, identity"}
        )
    assert headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in headers["vary"]
    assert gzip.decompress(raw) == plain.content == VALUES_CSV.encode()
    assert "content-encoding" not in plain.headers
    assert "content-encoding" not in refused.headers


def test_every_format_ends_with_its_marker(world: dict[str, str]) -> None:
    endings = {"csv": b"# end\n", "ndjson": b'{"end":true}\n', "dvs": b"]}\n", "adx": b"</adx>\n"}
    for name, ending in endings.items():
        response = admin_get(
            world,
            "/export/values",
            under="640104",
            **{"from": "2024", "to": "2024"},
            format=name,
            cursors="true",
        )
        assert response.content.endswith(ending), name


def test_values_json_is_what_an_encoder_writes() -> None:
    """Values' JSON is written whole; who stored a value is free text, and is encoded."""
    row = ValueRow(
        "640104001001",
        "births",
        "2024-03",
        12.5,
        "parity=1;sex=male",
        dt.datetime(2025, 2, 3, 4, 5, 6, 789000, tzinfo=dt.UTC),
        'clerk "王"\\\n',
        "64/6401/640104/640104001/640104001001/",
        24290,
        3,
    )
    shapes = ValueShapes()
    assert json.loads(shapes.dvs_text(row, lambda _: "abc")) == {
        "dataElement": "births",
        "period": "202403",
        "orgUnit": "640104001001",
        "categoryOptionCombo": "parity=1;sex=male",
        "attributeOptionCombo": "default",
        "value": "12.5",
        "lastUpdated": "2025-02-03T04:05:06.789Z",
        "storedBy": 'clerk "王"\\\n',
        "cursor": "abc",
    }
    assert json.loads(shapes.json_text(row, None)) == {
        "jurisdiction": "640104001001",
        "element": "births",
        "period": "2024-03",
        "value": 12.5,
        "disaggregation": "parity=1;sex=male",
    }
