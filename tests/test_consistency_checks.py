"""Consistency checks (births against hospital registrations) and plausible ranges of
indicators, through GraphQL: flags in both directions, figures that cannot be compared, roll-ups
above the villages, statements, scope, and the catalogue's `[quality]` settings."""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from indicators.catalogue_file import CatalogueError, parse_catalogue, read_catalogue
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.cli import quhua
from tests.conftest import StatementCounter, client_for, data_of, graphql
from tests.databases import NINGXIA, issue_token, ningxia_world

COUNTY = "640422"
TOWNSHIP = "640422100"


def villages_of(township: str) -> list[str]:
    with shipped_data(NINGXIA).open(encoding="utf-8") as file:
        return sorted(r["code"] for r in csv.DictReader(file) if r["parent_code"] == township)


VILLAGES = villages_of(TOWNSHIP)
UNDER, OVER, EDGE, CLOSE, NO_REFERENCE, ZERO_REFERENCE = VILLAGES[:6]
HIGH, LOW, FINE, TINY = VILLAGES[6:10]
# (births, hospital births) in 2024-02; None: not reported.
BIRTHS = {
    UNDER: (80, 100),  # a fifth below
    OVER: (120, 100),
    EDGE: (90, 100),  # exactly the gap below: not beyond it
    CLOSE: (95, 100),
    NO_REFERENCE: (10, None),
    ZERO_REFERENCE: (5, 0),
}
# (boys, girls) born in 2024-03.
SEXES = {HIGH: (30, 20), LOW: (19, 22), FINE: (25, 23), TINY: (10, 3)}


def rows() -> Iterator[tuple[str, str, str, str, str]]:
    for village, (births, hospital) in BIRTHS.items():
        boys = births - births // 2
        yield village, "births", "2024-02", str(boys), "sex=male;parity=1"
        yield village, "births", "2024-02", str(births - boys), "sex=female;parity=2"
        if hospital is not None:
            yield village, "hospital_births", "2024-02", str(hospital), ""
    for village, (boys, girls) in SEXES.items():
        yield village, "births", "2024-03", str(boys), "sex=male;parity=1"
        yield village, "births", "2024-03", str(girls), "sex=female;parity=1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, TestClient, Path]]:
    folder = tmp_path_factory.mktemp("consistency")
    with ningxia_world(str(request.param), folder, "quality-admin") as (url, token):
        path = folder / "values.csv"
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(("jurisdiction", "element", "period", "value", "disaggregation"))
            writer.writerows(rows())
        imported = quhua("values", "import", str(path), "--reason", "reports", url=url)
        assert imported.exit_code == 0, imported.stdout
        with client_for(url, token) as client:
            yield url, client, folder


CHECKS = """query($under: String!, $period: String!, $level: Level, $flaggedOnly: Boolean,
  $check: String, $first: Int, $after: String) {
  consistencyChecks(under: $under, period: $period, level: $level, flaggedOnly: $flaggedOnly,
                    check: $check, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { unit { code } check name period element referenceElement
      reported { value reportingUnits } reference { value } gapRatio allowedGap status flagged
      reason } } } }"""
RANGES = """query($under: String!, $period: String!, $level: Level, $indicator: String) {
  implausibleIndicators(under: $under, period: $period, level: $level, indicator: $indicator) {
    totalCount edges { node { unit { code } period minimum maximum bound
      indicator { code value numerator denominator } } } } }"""


def checks(client: TestClient, **arguments: Any) -> dict[str, dict[str, Any]]:
    data = data_of(client, CHECKS, **arguments)["consistencyChecks"]
    return {edge["node"]["unit"]["code"]: edge["node"] for edge in data["edges"]}


def test_under_and_over_reporting_are_flagged(world: tuple[str, TestClient, Path]) -> None:
    _, client, _ = world
    by_unit = checks(client, under=TOWNSHIP, period="2024-02", first=1000)
    assert len(by_unit) == len(VILLAGES)
    under = by_unit[UNDER]
    assert under["check"] == "births_vs_hospital"
    assert (under["element"], under["referenceElement"]) == ("births", "hospital_births")
    assert (under["reported"]["value"], under["reference"]["value"]) == (80, 100)
    assert under["gapRatio"] == pytest.approx(-0.2)
    assert (under["allowedGap"], under["status"], under["flagged"]) == (0.1, "UNDER_REPORTED", True)
    assert by_unit[OVER]["status"] == "OVER_REPORTED"
    assert by_unit[OVER]["gapRatio"] == pytest.approx(0.2)
    assert by_unit[EDGE]["status"] == "CONSISTENT"
    assert by_unit[CLOSE]["status"] == "CONSISTENT"
    assert by_unit[CLOSE]["flagged"] is False
    missing = by_unit[NO_REFERENCE]
    assert (missing["status"], missing["gapRatio"]) == ("NOT_COMPARABLE", None)
    assert missing["reason"] == "no unit reported hospital_births for 2024-02"
    assert by_unit[ZERO_REFERENCE]["reason"] == "the reference is 0"
    silent = by_unit[VILLAGES[-1]]
    assert silent["status"] == "NOT_COMPARABLE"
    assert silent["reason"] == "no unit reported births for 2024-02"
    flagged = checks(client, under=TOWNSHIP, period="2024-02", flaggedOnly=True)
    assert set(flagged) == {UNDER, OVER}


def test_units_above_compare_their_roll_ups(world: tuple[str, TestClient, Path]) -> None:
    _, client, _ = world
    township = checks(client, under=COUNTY, period="2024-02", level="TOWNSHIP")[TOWNSHIP]
    # 400 births against 400 registered: the villages' gaps cancel out.
    assert (township["reported"]["value"], township["reference"]["value"]) == (400, 400)
    assert township["reported"]["reportingUnits"] == 6
    assert township["status"] == "CONSISTENT"
    quarter = checks(client, under=COUNTY, period="2024-Q1", level="COUNTY")[COUNTY]
    assert quarter["reported"]["value"] == 400 + sum(b + g for b, g in SEXES.values())


def test_pages_of_checks(world: tuple[str, TestClient, Path]) -> None:
    _, client, _ = world
    every = data_of(client, CHECKS, under=TOWNSHIP, period="2024-02")["consistencyChecks"]
    assert every["totalCount"] == len(VILLAGES)
    seen: list[str] = []
    after = None
    while True:
        page = data_of(client, CHECKS, under=TOWNSHIP, period="2024-02", first=7, after=after)
        connection = page["consistencyChecks"]
        seen += [edge["node"]["unit"]["code"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == VILLAGES


def test_plausible_ranges(world: tuple[str, TestClient, Path]) -> None:
    _, client, _ = world
    data = data_of(client, RANGES, under=TOWNSHIP, period="2024-03")["implausibleIndicators"]
    found = {e["node"]["unit"]["code"]: e["node"] for e in data["edges"]}
    # TINY's 333 over three girls is too few to judge; FINE lies inside.
    assert set(found) == {HIGH, LOW}
    high = found[HIGH]
    assert high["bound"] == "ABOVE_MAXIMUM"
    assert (high["minimum"], high["maximum"]) == (100, 120)
    assert high["indicator"] == {
        "code": "sex_ratio_at_birth",
        "value": 150,
        "numerator": 30,
        "denominator": 20,
    }
    assert found[LOW]["bound"] == "BELOW_MINIMUM"
    township = data_of(client, RANGES, under=COUNTY, period="2024-03", level="TOWNSHIP")
    (node,) = [e["node"] for e in township["implausibleIndicators"]["edges"]]
    assert node["unit"]["code"] == TOWNSHIP
    assert node["indicator"]["value"] == pytest.approx(84 / 68 * 100)
    none = data_of(client, RANGES, under=TOWNSHIP, period="2024-02", indicator="sex_ratio_at_birth")
    assert none["implausibleIndicators"]["totalCount"] == 0
    unknown = graphql(client, RANGES, under=TOWNSHIP, period="2024-03", indicator="birth_rate")
    assert "no plausible range" in unknown["errors"][0]["message"]
    missing = graphql(client, CHECKS, under=TOWNSHIP, period="2024-02", check="nope")
    assert "births_vs_hospital" in missing["errors"][0]["message"]


def test_a_few_statements_whatever_the_units(
    world: tuple[str, TestClient, Path], sql_statements: StatementCounter
) -> None:
    _, client, _ = world
    counts = {}
    for query, name in ((CHECKS, "checks"), (RANGES, "ranges")):
        for under in (TOWNSHIP, COUNTY, "64"):
            before = sql_statements.count
            data_of(client, query, under=under, period="2024-02")
            counts[name, under] = sql_statements.count - before
        # A page that holds every finding is its own total.
        assert counts[name, TOWNSHIP] <= counts[name, COUNTY], counts
    # Each batch of units is a page of units and one read. Every unit has a check: the page is
    # found in the first batch, and the total reads a thousand units at once, the province's
    # 2,912 villages in two more than the county's 308. Few values are implausible: the page
    # reads on, in batches from 100 units doubling to 1,000 (six for the province, three for
    # the county), and the total is its length.
    assert counts["checks", "64"] == counts["checks", COUNTY] + 4, counts
    assert counts["ranges", "64"] == counts["ranges", COUNTY] + 6, counts


def codes_of(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def test_scoped_to_the_callers_subtree(world: tuple[str, TestClient, Path]) -> None:
    url, _, _ = world
    system = issue_token(url, "county-system", "aggregate_reader", COUNTY)
    with client_for(url, system) as client:
        above = checks(client, under=COUNTY, period="2024-02", level="TOWNSHIP")
        assert TOWNSHIP in above
        for query in (CHECKS, RANGES):
            assert codes_of(graphql(client, query, under=TOWNSHIP, period="2024-02")) == [
                "FORBIDDEN"
            ]
            assert codes_of(graphql(client, query, under="6401", period="2024-02")) == ["FORBIDDEN"]
    viewer = issue_token(url, "township-viewer", "viewer", TOWNSHIP)
    with client_for(url, viewer) as client:
        assert len(checks(client, under=TOWNSHIP, period="2024-02", first=100)) == len(VILLAGES)
        assert codes_of(graphql(client, CHECKS, under=COUNTY, period="2024-02")) == ["FORBIDDEN"]


def test_the_catalogue_settings_rule(world: tuple[str, TestClient, Path]) -> None:
    url, client, folder = world
    shipped = shipped_data(DEFAULT_CATALOGUE).read_text(encoding="utf-8")
    wider = folder / "wider.toml"
    wider.write_text(
        shipped.replace("gap = 0.10", "gap = 0.25").replace("max = 120", "max = 160"),
        encoding="utf-8",
    )
    try:
        assert quhua("catalogue", "load", str(wider), url=url).exit_code == 0
        assert checks(client, under=TOWNSHIP, period="2024-02", flaggedOnly=True) == {}
        data = data_of(client, RANGES, under=TOWNSHIP, period="2024-03")
        assert [e["node"]["unit"]["code"] for e in data["implausibleIndicators"]["edges"]] == [LOW]
    finally:
        reloaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
        assert reloaded.exit_code == 0


def test_the_quality_table_is_checked_with_the_catalogue() -> None:
    raw = tomllib.loads(shipped_data(DEFAULT_CATALOGUE).read_text(encoding="utf-8"))
    spec = read_catalogue(shipped_data(DEFAULT_CATALOGUE))
    assert spec.quality.outliers.extreme_modified_z == 5
    assert spec.quality.plausible_range("sex_ratio_at_birth") is not None
    raw["quality"]["outliers"]["extreme_z"] = 1.5
    raw["quality"]["outliers"]["history"] = 0
    raw["quality"]["plausible_ranges"]["sex_ratio_at_birth"]["min"] = 130
    raw["quality"]["plausible_ranges"]["nope"] = {"min": 1}
    raw["quality"]["consistency"]["births_vs_hospital"]["reference"] = "hospital"
    raw["quality"]["consistency"]["wide"] = {"element": "births", "reference": "deaths", "gap": 1.5}
    raw["quality"]["typo"] = {}
    with pytest.raises(CatalogueError) as raised:
        parse_catalogue(raw)
    assert sorted(raised.value.problems) == [
        "quality.consistency.births_vs_hospital.reference: 'hospital' is not an element of the "
        "catalogue",
        "quality.consistency.wide.gap: 1.5 is not a share of the reference: 0 to 1",
        "quality.outliers.extreme_z: must be at least moderate_z",
        "quality.outliers.history: 0 is not a count of periods: write 1 to 120",
        "quality.plausible_ranges.nope: no indicator has code 'nope'",
        "quality.plausible_ranges.sex_ratio_at_birth: min 130 lies above max 120",
        "quality.typo: unknown key; expected one of consistency, outliers, plausible_ranges",
    ]
