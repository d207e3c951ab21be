"""The console's follow-up screens: assessment grades and ranking, outliers and validation
violations, each as GraphQL answers it for the viewer, on both backends."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from starlette.testclient import TestClient

from quhua.console.messages import MESSAGES
from quhua.synthetic import generate, write_csv
from tests.cli import quhua
from tests.conftest import client_for, data_of
from tests.console_pages import SCREENSHOTS, backend_of, browser_session, served
from tests.databases import issue_token, ningxia_world

ROOT = Path(__file__).parent.parent
CITY = "6401"  # 银川市
XINGQING, XIXIA = "640104", "640105"
TOWNSHIP = "640104001"
VILLAGE = "640104001002"
TARGETS = """mutation($rows: [TargetInput!]!) { setTargets(input: $rows, reason: "2025 plan") {
  __typename } }"""
RANKING = """query($unit: String!, $level: Level!) {
  ranking(under: $unit, level: $level, year: "2025") { totalCount edges { node {
    rank value jurisdiction { code } assessment { grade score } } } }
  jurisdiction(code: $unit) { assessment(year: "2025") { grade targets { indicator met } } } }"""
SUBMIT = """mutation($rows: [ValueInput!]!) { submitValues(input: $rows, reason: "typo") {
  ok } }"""
QUALITY = """query($unit: String!, $period: String!) {
  outliers(under: $unit, period: $period, first: 50) { totalCount edges { node {
    unit { code } element disaggregation } } }
  validationViolations(under: $unit, period: $period, first: 50) { totalCount edges { node {
    jurisdiction { code } rule { code } } } } }"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Ningxia with two years of reports of the villages of two Yinchuan districts'
    first street offices, and targets of both districts for 2025."""
    folder = tmp_path_factory.mktemp("insight")
    with ningxia_world(str(request.param), folder, "ningxia-admin") as (url, admin):
        tree = (ROOT / "quhua" / "data" / "divisions_2023_ningxia.csv").read_text("utf-8")
        villages = [
            code
            for code in (line.split(",")[0] for line in tree.splitlines())
            if len(code) == 12 and code[:9] in {TOWNSHIP, "640105001"}
        ]
        values = folder / "values.csv"
        write_csv(generate(villages, first_year=2024, years=2, seed=11), values)
        imported = quhua("values", "import", str(values), url=url)
        assert imported.exit_code == 0, imported.stdout + imported.stderr
        with client_for(url, admin) as api:
            rows = [
                {
                    "jurisdiction": code,
                    "year": "2025",
                    "indicator": indicator,
                    "bound": bound,
                    "value": value,
                    "weight": weight,
                }
                for code in (XINGQING, XIXIA)
                for indicator, bound, value, weight in (
                    ("birth_rate", "AT_MOST", 12.0, 2),
                    ("contraceptive_prevalence", "AT_LEAST", 95.0, 1),
                )
            ]
            data_of(api, TARGETS, rows=rows)
            # More births within the policy than births: a rule the month fails.
            wrong = {
                "jurisdiction": VILLAGE,
                "element": "policy_births",
                "period": "2025-03",
                "value": 999,
            }
            assert data_of(api, SUBMIT, rows=[wrong])["submitValues"]["ok"]
        yield {
            "url": url,
            "admin": admin,
            "village": issue_token(url, "chongan-reporter", "reporter", VILLAGE),
        }


@pytest.fixture
def api(world: dict[str, str]) -> Iterator[TestClient]:
    with client_for(world["url"], world["admin"]) as client:
        yield client


def rows_of(page: str, table: str) -> list[str]:
    found = re.search(rf'data-testid="{table}">(.*?)</table>', page, re.S)
    assert found, f"the page has the {table} table"
    return re.findall(r'<tr data-code="(\d+)"', found[1])


def test_the_ranking_and_grades_are_graphqls(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    admin = person("admin")
    page = admin.get(f"/console/assessment?unit={CITY}&year=2025&kind=year")
    assert page.status_code == 200, page.text
    answer = data_of(api, RANKING, unit=CITY, level="COUNTY")
    ranked = [edge["node"] for edge in answer["ranking"]["edges"]]
    assert rows_of(page.text, "ranking") == [node["jurisdiction"]["code"] for node in ranked]
    assert {node["jurisdiction"]["code"] for node in ranked if node["assessment"]} == {
        XINGQING,
        XIXIA,
    }
    for node in ranked:
        row = re.search(
            rf'<tr data-code="{node["jurisdiction"]["code"]}">(.*?)</tr>', page.text, re.S
        )
        assert row
        if node["assessment"]:
            assert MESSAGES["grade_" + node["assessment"]["grade"]][0] in row[1]
            assert f"{node['value']:,.2f}" in row[1]
        else:
            assert MESSAGES["no_targets_short"][0] in row[1]
    assert answer["jurisdiction"]["assessment"] is None
    assert MESSAGES["no_targets"][0] in page.text
    county = admin.get(f"/console/assessment?unit={XINGQING}&year=2025&kind=quarter&quarter=2")
    assert county.status_code == 200
    assert '<option value="year" selected>' in county.text, "a quarter's year is assessed"
    own = data_of(api, RANKING, unit=XINGQING, level="TOWNSHIP")["jurisdiction"]["assessment"]
    targets = re.findall(r'<tr data-indicator="(\w+)">(.*?)</tr>', county.text, re.S)
    assert [code for code, _ in targets] == [t["indicator"] for t in own["targets"]]
    for (_, row), target in zip(targets, own["targets"], strict=True):
        assert MESSAGES["yes" if target["met"] else "no"][0] in row
    assert MESSAGES["grade_" + own["grade"]][0] in county.text


def test_outliers_and_violations_are_graphqls(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    admin = person("admin")
    for period, query in (("2025-03", "kind=month&month=3"), ("2025", "kind=year")):
        page = admin.get(f"/console/quality?unit={XINGQING}&year=2025&{query}")
        assert page.status_code == 200, page.text
        answer = data_of(api, QUALITY, unit=XINGQING, period=period)
        heading = re.search(r"异常值 \((\d+)\)", page.text)
        assert heading and int(heading[1]) == answer["outliers"]["totalCount"]
        heading = re.search(r"校验未通过 \((\d+)\)", page.text)
        assert heading and int(heading[1]) == answer["validationViolations"]["totalCount"]
        if answer["outliers"]["edges"]:
            assert rows_of(page.text, "outliers") == [
                edge["node"]["unit"]["code"] for edge in answer["outliers"]["edges"]
            ]
        if answer["validationViolations"]["edges"]:
            assert rows_of(page.text, "violations") == [
                edge["node"]["jurisdiction"]["code"]
                for edge in answer["validationViolations"]["edges"]
            ]
        if period == "2025-03":
            assert answer["outliers"]["totalCount"] > 0
            assert VILLAGE in rows_of(page.text, "violations")
    default = admin.get(f"/console/quality?unit={XINGQING}")
    assert default.status_code == 200
    assert '<option value="month" selected>' in default.text, "the last month by default"


def test_a_reporter_follows_up_its_own_village_only(
    world: dict[str, str], person: Callable[[str], TestClient]
) -> None:
    reporter = person("village")
    for url in (
        f"/console/assessment?unit={XINGQING}&year=2025",
        f"/console/quality?unit={XINGQING}&year=2025&kind=month&month=3",
    ):
        page = reporter.get(url)
        assert page.status_code == 403, url
        assert 'data-testid="message"' in page.text
    assert reporter.get(f"/console/quality?unit={VILLAGE}&year=2025").status_code == 200


def test_the_follow_up_screens_in_a_browser(
    world: dict[str, str], chromium: Browser, tmp_path: Path
) -> None:
    problems: list[str] = []
    backend = backend_of(world)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (
        served(world, tmp_path) as server,
        browser_session(chromium, server.base, world["admin"], problems) as page,
    ):
        page.goto(server.base + f"/?unit={XINGQING}&year=2025&kind=year")
        page.wait_for_selector('[data-testid="treemap"][data-drawn="true"]')
        page.screenshot(path=str(SCREENSHOTS / f"console-treemap-{backend}.png"), full_page=True)
        page.click('[data-testid="breadcrumbs"] >> text=考核')
        expect(page.locator('[data-testid="ranking"] tbody tr')).not_to_have_count(0)
        page.screenshot(path=str(SCREENSHOTS / f"console-assessment-{backend}.png"), full_page=True)
        page.goto(server.base + f"/console/quality?unit={XINGQING}&year=2025&kind=month&month=3")
        expect(page.locator('[data-testid="violations"] tbody tr')).not_to_have_count(0)
        page.screenshot(path=str(SCREENSHOTS / f"console-quality-{backend}.png"), full_page=True)
    assert problems == []
