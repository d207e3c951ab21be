"""The issue's whole story for a provincial system holding only an aggregate_reader token:
full exports in every format, then incremental changes, a cut resumed, never another
province."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from quhua.pull import Follow, answer_data, mirrored, pull
from tests.conftest import client_for, data_of
from tests.databases import issue_token
from tests.export_world import export, export_world

SCHEMA = Path(__file__).parent / "data" / "adx" / "adx_loose.xsd"
ADX = "{urn:ihe:qrph:adx:2015}"
SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "correction") { ok errors { message } } }"""
GRID = (
    'rollup(under: "64", level: COUNTY, period: "{}", elements: ["births"]) '
    "{{ codes columns {{ values }} }}"
)
GRIDS = "{ a: " + GRID.format("2024-03") + " b: " + GRID.format("2024-04") + " }"
ASKED = {"under": "64", "level": "county", "from": "2024-03", "to": "2024-04", "elements": "births"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    with export_world(request.param, tmp_path_factory.mktemp("province")) as found:
        yield found


def units_in(fmt: str, body: bytes) -> list[str]:
    """The units an export names, read as its format is read."""
    if fmt == "csv":
        return [row["jurisdiction"] for row in csv.DictReader(io.StringIO(body.decode()))]
    if fmt == "ndjson":
        lines = [json.loads(line) for line in body.decode().splitlines()]
        assert lines[-1] == {"end": True}
        return [line["jurisdiction"] for line in lines[:-1]]
    if fmt == "dvs":
        return [value["orgUnit"] for value in json.loads(body)["dataValues"]]
    document = etree.fromstring(body)
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    assert schema.validate(document), schema.error_log
    return [group.get("orgUnit") for group in document.iter(f"{ADX}group")]


def test_a_provincial_system_pulls_everything_then_what_changed(
    world: dict[str, str], tmp_path: Path
) -> None:
    with (
        client_for(world["url"], world["reader"]) as system,
        client_for(world["url"], world["admin"]) as admin,
    ):
        head = data_of(system, "{ feedHead }")["feedHead"]
        for fmt in ("csv", "ndjson", "dvs", "adx"):
            full = export(system, "/export/aggregates", **ASKED, format=fmt)
            assert full.status_code == 200, (fmt, full.text)
            units = units_in(fmt, full.content)
            assert units, fmt
            assert all(unit.startswith("64") for unit in units), (fmt, units)
        # Another province, and raw values, are refused whatever the endpoint.
        for path, params in [
            ("/export/aggregates", {**ASKED, "under": "65"}),
            ("/export/values", {"under": "65", "from": "2024", "to": "2024"}),
            ("/export/values", {"under": "64", "from": "2024", "to": "2024"}),
            ("/export/changes", {"under": "65", "level": "county"}),
        ]:
            assert export(system, path, **params).status_code == 403, (path, params)
        # Both provinces change; the system reads only its own, from where its export began.
        rows = [
            {
                "jurisdiction": "640104001002",
                "element": "births",
                "period": "2024-04",
                "disaggregation": "sex=male;parity=1",
                "value": 5,
            },
            {
                "jurisdiction": "650102001001",
                "element": "births",
                "period": "2024-04",
                "disaggregation": "sex=male;parity=1",
                "value": 9,
            },
        ]
        assert data_of(admin, SUBMIT, rows=rows[:1])["submitValues"]["ok"]
        xinjiang = issue_token(world["url"], "xinjiang-admin", "admin", "65")
        with client_for(world["url"], xinjiang) as other:
            assert data_of(other, SUBMIT, rows=rows[1:])["submitValues"]["ok"]
        page = export(
            system, "/export/changes", under="64", level="county", after=head, elements="births"
        ).json()
        assert [(c["unit"], c["period"], c["value"]) for c in page["changes"]] == [
            ("640104", "2024-04", 7.0)
        ]
        # A cut NDJSON export resumes from its last complete row.
        whole = export(system, "/export/aggregates", **ASKED, format="ndjson").text.splitlines()
        cut = "\n".join(whole)[: len("\n".join(whole)) // 2]
        complete = cut.splitlines()[:-1]
        resumed = export(
            system,
            "/export/aggregates",
            **ASKED,
            format="ndjson",
            after=json.loads(complete[-1])["cursor"],
        )
        assert complete + resumed.text.splitlines() == whole
        # The reference client mirrors the province's counties, and only them.
        follow = Follow(under="64", level="COUNTY", elements=("births",))
        into = f"sqlite:///{tmp_path}/mirror.sqlite3"

        def fetch(query: str, variables: dict[str, object]) -> dict[str, object]:
            return answer_data(
                system.post("/graphql", json={"query": query, "variables": variables}).json()
            )

        pull(fetch, source="province", into=into, follow=follow, page_size=1)
        held = mirrored(into, "province", follow)
        grid = data_of(
            system,
            GRIDS,
        )
        expected = {
            (code, period, "element", "births"): value
            for alias, period in (("a", "2024-03"), ("b", "2024-04"))
            for code, value in zip(
                grid[alias]["codes"], grid[alias]["columns"][0]["values"], strict=True
            )
            if value is not None
        }
        assert {k: v for k, v in held.items() if v is not None} == expected
        assert all(unit.startswith("64") for unit, *_ in held)
