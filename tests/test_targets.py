"""Targets and assessments through HTTP: every grade, weights, vetoes, thresholds per tree,
statistical years, rankings with ties, bad input refused whole, the CSV import, the audit,
and scope: a target or an assessment outside it is FORBIDDEN."""

from __future__ import annotations

import asyncio
import csv
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from starlette.testclient import TestClient

from core.db.engine import async_engine, sync_engine
from indicators.assessment import Actual, Basis, Grade, TargetSpec, Thresholds, assess
from indicators.periods import Period
from indicators.targets.models import Bound, Target, TargetChange
from quhua.demo import (
    DEMO_SEED,
    DEMO_TARGET_YEAR,
    demo_target_rows,
    issue_demo_tokens,
    shipped_data,
)
from quhua.synthetic import generate
from tenancy.scope import SCOPE_EXEMPT, SCOPED
from tests.cli import quhua
from tests.conftest import StatementCounter, client_for, data_of, graphql
from tests.databases import BACKENDS, NINGXIA, issue_token, ningxia_world
from tests.scoping import tables_read

# Four counties of Yinchuan (6401) hold the same data in one village each; a fifth has
# targets and no data; a sixth neither.
A, B, C, D, EMPTY, UNTARGETED = "640104", "640105", "640106", "640121", "640122", "640181"
REPORTING = (A, B, C, D)
MONTHS_2023 = [f"2023-{m}" for m in ("10", "11", "12")]
MONTHS_2024 = [f"2024-{m:02d}" for m in range(1, 13)]
SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "monthly report") { ok errors { message } } }"""
SET = """mutation($rows: [TargetInput!]!, $reason: String!) {
  setTargets(input: $rows, reason: $reason) {
    ok changed unchanged errors { index code message } } }"""
REMOVE = """mutation($rows: [TargetKeyInput!]!) {
  removeTargets(input: $rows, reason: "no longer assessed") {
    ok changed errors { index code message } } }"""
ASSESS = """query($code: String!, $year: String!) { jurisdiction(code: $code) {
  assessment(year: $year) {
    year basis score grade reason thresholds { commended passed setAt }
    targets { indicator bound value weight veto actual met margin missing nullReason } } } }"""
RANK = """query($under: String!, $level: Level!, $year: String!, $by: String!,
                 $descending: Boolean!, $first: Int, $after: String) {
  ranking(under: $under, level: $level, year: $year, by: $by, descending: $descending,
          first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { rank value nullReason jurisdiction { code } assessment { grade } } } } }"""
# What each reporting village holds a month: 2024 (births, deaths, policy births) and the
# last quarter of 2023 (fewer births), over 10,000 residents.
PER_MONTH_2024 = {"births": 8, "deaths": 5, "policy_births": 7}
PER_MONTH_2023 = {"births": 2, "deaths": 5, "policy_births": 2}
RESIDENTS = 10_000
TARGET_TABLES = frozenset(
    {"targets", "target_changes", "assessment_thresholds", "assessment_threshold_changes"}
)


def first_village(county: str) -> str:
    with shipped_data(NINGXIA).open(encoding="utf-8") as file:
        return next(
            row["code"]
            for row in csv.DictReader(file)
            if row["level"] == "village" and row["code"].startswith(county)
        )


def month_rows(village: str, month: str, per_month: dict[str, int]) -> list[dict[str, Any]]:
    births = per_month["births"]
    cells = [
        ("population", "sex=male", RESIDENTS // 2),
        ("population", "sex=female", RESIDENTS // 2),
        ("births", "sex=male;parity=1", births // 2),
        ("births", "sex=female;parity=1", births - births // 2),
        ("deaths", "", per_month["deaths"]),
        ("policy_births", "", per_month["policy_births"]),
    ]
    return [
        {
            "jurisdiction": village,
            "element": element,
            "period": month,
            "disaggregation": options,
            "value": value,
        }
        for element, options, value in cells
    ]


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, TestClient]]:
    """Ningxia with the data above, as its province administrator."""
    folder = tmp_path_factory.mktemp("targets")
    with (
        ningxia_world(str(request.param), folder, "targets-admin") as (url, token),
        client_for(url, token) as client,
    ):
        rows = [
            row
            for county in REPORTING
            for village in [first_village(county)]
            for months, per_month in (
                (MONTHS_2023, PER_MONTH_2023),
                (MONTHS_2024, PER_MONTH_2024),
            )
            for month in months
            for row in month_rows(village, month, per_month)
        ]
        assert data_of(client, SUBMIT, rows=rows)["submitValues"]["ok"]
        yield url, client


@pytest.fixture(autouse=True)
def target_tables_are_scoped() -> Iterator[None]:
    """Requests read the target tables only through a Scope or a stated exemption."""
    violations: list[str] = []

    def check(_conn: Any, statement: Any, _multi: Any, _params: Any, options: Any) -> None:
        merged = {**getattr(statement, "get_execution_options", dict)(), **(options or {})}
        unmarked = not (merged.get(SCOPED) or merged.get(SCOPE_EXEMPT))
        if merged.get("quhua_request") and tables_read(statement) & TARGET_TABLES and unmarked:
            violations.append(str(statement))

    event.listen(Engine, "before_execute", check)
    try:
        yield
    finally:
        event.remove(Engine, "before_execute", check)
    assert violations == []


def target(
    unit: str,
    indicator: str,
    bound: str,
    value: float,
    *,
    year: str = "2024",
    weight: float = 1,
    veto: bool = False,
) -> dict[str, Any]:
    return {
        "jurisdiction": unit,
        "year": year,
        "indicator": indicator,
        "bound": bound,
        "value": value,
        "weight": weight,
        "veto": veto,
    }


def seed_targets(
    unit: str, *, births: float, birth_rate: float, policy: float, year: str
) -> list[dict[str, Any]]:
    """The seed's four targets, weighted as points out of 100."""
    return [
        target(unit, "births", "AT_MOST", births, year=year, weight=2),
        target(unit, "birth_rate", "AT_MOST", birth_rate, year=year, weight=40),
        target(unit, "natural_growth_rate", "AT_MOST", 4.5, year=year, weight=40),
        target(unit, "policy_rate", "AT_LEAST", policy, year=year, weight=18, veto=True),
    ]


def assessment(client: TestClient, code: str, year: str = "2024") -> Any:
    return data_of(client, ASSESS, code=code, year=year)["jurisdiction"]["assessment"]


def set_targets(
    client: TestClient, rows: list[dict[str, Any]], reason: str = "yearly targets"
) -> Any:
    return data_of(client, SET, rows=rows, reason=reason)["setTargets"]


def stored(url: str) -> tuple[int, int]:
    engine = sync_engine(url)
    with engine.connect() as connection:
        counts = (
            connection.execute(select(func.count()).select_from(Target)).scalar_one(),
            connection.execute(select(func.count()).select_from(TargetChange)).scalar_one(),
        )
    engine.dispose()
    return counts


def test_every_grade_with_its_reason(world: tuple[str, TestClient]) -> None:
    _, client = world
    rows = [
        *seed_targets(A, births=2000, birth_rate=10, policy=80, year="2024"),
        *seed_targets(B, births=90, birth_rate=10, policy=80, year="2024"),
        *seed_targets(C, births=2000, birth_rate=9.5, policy=80, year="2024"),
        *seed_targets(D, births=2000, birth_rate=10, policy=95, year="2024"),
        target(EMPTY, "births", "AT_MOST", 2000),
    ]
    assert set_targets(client, rows) == {"ok": True, "changed": 17, "unchanged": 0, "errors": []}
    assert set_targets(client, rows)["unchanged"] == 17

    commended = assessment(client, A)
    assert (commended["grade"], commended["score"]) == ("COMMENDED", 100.0)
    assert commended["basis"] == "ALL_DATA" and commended["year"] == "2024"
    assert commended["thresholds"] == {"commended": 100.0, "passed": 98.0, "setAt": None}
    figures = {t["indicator"]: t for t in commended["targets"]}
    births, rate = 12 * 8, 12 * 8 / RESIDENTS * 1000
    assert figures["births"]["actual"] == births and figures["births"]["margin"] == 2000 - births
    assert figures["birth_rate"]["actual"] == pytest.approx(rate)
    assert figures["birth_rate"]["margin"] == pytest.approx(10 - rate)
    assert figures["natural_growth_rate"]["actual"] == pytest.approx((96 - 60) / RESIDENTS * 1000)
    assert figures["policy_rate"]["actual"] == pytest.approx(7 / 8 * 100)
    assert figures["policy_rate"]["margin"] == pytest.approx(7 / 8 * 100 - 80)
    assert all(t["met"] and not t["missing"] for t in commended["targets"])

    passed = assessment(client, B)
    assert (passed["grade"], passed["score"]) == ("PASSED", 98.0)
    assert "births at most 90: 96" in passed["reason"]
    assert {t["indicator"]: t["margin"] for t in passed["targets"]}["births"] == -6

    failed = assessment(client, C)
    assert (failed["grade"], failed["score"]) == ("FAILED", 60.0)
    assert "birth_rate at most 9.5: 9.6" in failed["reason"]

    vetoed = assessment(client, D)
    assert (vetoed["grade"], vetoed["score"]) == ("VETOED", 82.0)
    assert vetoed["reason"].startswith("vetoed by policy_rate at least 95: 87.5")
    # 一票否决: by score, the vetoed county follows every county that was not vetoed.
    assert ranks(client, under="6401", year="2024") == [
        (A, 1, 100.0),
        (B, 2, 98.0),
        (C, 3, 60.0),
        (EMPTY, 4, 0.0),
        (D, 5, 82.0),
        (UNTARGETED, None, None),
    ]

    missing = assessment(client, EMPTY)
    assert (missing["grade"], missing["score"]) == ("FAILED", 0.0)
    (only,) = missing["targets"]
    assert only["missing"] and not only["met"] and only["actual"] is None
    assert only["margin"] is None and "no unit reported births" in only["nullReason"]
    assert "no figure" in missing["reason"]

    # No targets: no assessment, not a grade made up.
    assert assessment(client, UNTARGETED) is None
    assert assessment(client, A, "2022") is None


def test_weights_share_the_score(world: tuple[str, TestClient]) -> None:
    _, client = world
    rows = [
        target(A, "births", "AT_MOST", 100, year="2025", weight=1),
        target(A, "deaths", "AT_MOST", 1, year="2025", weight=2),
        target(A, "birth_rate", "AT_LEAST", 0, year="2025", weight=0.5),
    ]
    assert set_targets(client, rows)["ok"]
    # 2025 has no data: nothing is met.
    assert assessment(client, A, "2025")["score"] == 0.0
    rows = [{**row, "year": "2023"} for row in rows]
    assert set_targets(client, rows)["ok"]
    # 2023 (its last quarter): 6 births, 15 deaths; met weigh 1 + 0.5 of 3.5.
    found = assessment(client, A, "2023")
    assert found["score"] == pytest.approx(100 * 1.5 / 3.5)
    assert {t["indicator"]: t["met"] for t in found["targets"]} == {
        "births": True,
        "deaths": False,
        "birth_rate": True,
    }


def test_a_statistical_year_reads_october_to_september(world: tuple[str, TestClient]) -> None:
    _, client = world
    rows = [
        target(B, "births", "AT_MOST", 80, year="2024FP"),
        target(B, "policy_rate", "AT_LEAST", 80, year="2024FP", veto=True),
    ]
    assert set_targets(client, rows)["ok"]
    found = assessment(client, B, "2024FP")
    assert found["year"] == "2024FP"
    figures = {t["indicator"]: t for t in found["targets"]}
    # 2023-10 … 2024-09: three months of 2 births, nine of 8.
    assert figures["births"]["actual"] == 3 * 2 + 9 * 8
    assert figures["policy_rate"]["actual"] == pytest.approx((3 * 2 + 9 * 7) / 78 * 100)
    assert found["grade"] == "COMMENDED"
    listed = data_of(
        client,
        '{ jurisdiction(code: "640105") { targets(year: "2024FP") {'
        " year indicator bound veto } } }",
    )["jurisdiction"]["targets"]
    assert listed == [
        {"year": "2024FP", "indicator": "births", "bound": "AT_MOST", "veto": False},
        {"year": "2024FP", "indicator": "policy_rate", "bound": "AT_LEAST", "veto": True},
    ]
    bad = graphql(client, ASSESS, code=B, year="2024-Q1")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "a target is for a year" in bad["errors"][0]["message"]


def test_thresholds_per_tree_nearest_above_wins(world: tuple[str, TestClient]) -> None:
    url, client = world
    rows = [
        target(C, "births", "AT_MOST", 100, year="2026", weight=2),
        target(C, "deaths", "AT_MOST", 100, year="2026", weight=1),
    ]
    assert set_targets(client, rows)["ok"]
    assert assessment(client, C, "2026")["grade"] == "FAILED"
    set_at = """mutation($at: String!, $c: Float, $p: Float) {
      setAssessmentThresholds(jurisdiction: $at, commended: $c, passed: $p, reason: "tree rules") {
        commended passed setAt } }"""
    assert data_of(client, set_at, at="64", c=100, p=90)["setAssessmentThresholds"]["setAt"] == "64"
    # The city's row is nearer to its counties than the province's.
    assert data_of(client, set_at, at="6401", c=50, p=0)["setAssessmentThresholds"] == {
        "commended": 50.0,
        "passed": 0.0,
        "setAt": "6401",
    }
    # With nothing met (2026 has no data), the city's thresholds pass the county.
    found = assessment(client, C, "2026")
    assert (found["grade"], found["score"], found["thresholds"]["setAt"]) == ("PASSED", 0, "6401")
    # Removing the city's row lets the province's hold again.
    assert data_of(client, set_at, at="6401")["setAssessmentThresholds"] is None
    found = assessment(client, C, "2026")
    assert found["grade"] == "FAILED"
    assert found["thresholds"] == {"commended": 100.0, "passed": 90.0, "setAt": "64"}
    wrong = graphql(client, set_at, at="6401", c=90, p=95)
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    shown = quhua("targets", "thresholds", "--at", "6401", url=url)
    assert "commended at 100, passed at 90 (set at 64)" in shown.stdout
    cleared = quhua(
        "targets", "thresholds", "--at", "64", "--clear", "--reason", "defaults", url=url
    )
    assert cleared.exit_code == 0, cleared.stdout
    assert assessment(client, C, "2026")["thresholds"]["setAt"] is None


def ranks(client: TestClient, **arguments: Any) -> list[tuple[str, int | None, float | None]]:
    asked = {"descending": True, "by": "SCORE", "level": "COUNTY", **arguments}
    edges = data_of(client, RANK, **asked)["ranking"]["edges"]
    return [
        (e["node"]["jurisdiction"]["code"], e["node"]["rank"], e["node"]["value"]) for e in edges
    ]


def test_ranking_shares_ties_and_puts_units_without_a_value_last(
    world: tuple[str, TestClient],
) -> None:
    _, client = world
    # 2023 (its last quarter): 6 births and 15 deaths in each of the four reporting counties.
    rows = [
        target(A, "births", "AT_MOST", 10, year="2023"),
        target(A, "deaths", "AT_MOST", 100, year="2023"),
        target(B, "births", "AT_MOST", 10, year="2023"),
        target(B, "deaths", "AT_MOST", 1, year="2023"),
        target(C, "births", "AT_MOST", 10, year="2023"),
        target(C, "deaths", "AT_MOST", 1, year="2023"),
        target(D, "births", "AT_MOST", 1, year="2023"),
    ]
    assert set_targets(client, rows)["ok"]
    # A's births and deaths targets of the weights test are replaced: all its targets are met.
    assert ranks(client, under="6401", year="2023") == [
        (A, 1, 100.0),
        (B, 2, 50.0),
        (C, 2, 50.0),
        (D, 4, 0.0),
        (EMPTY, None, None),
        (UNTARGETED, None, None),
    ]
    by_births = ranks(client, under="6401", year="2024", by="births", descending=False)
    assert [rank for _, rank, _ in by_births] == [1, 1, 1, 1, None, None]
    assert {code for code, rank, _ in by_births if rank} == set(REPORTING)
    # Pages continue after the cursor, ranks and all.
    first = data_of(
        client,
        RANK,
        under="6401",
        level="COUNTY",
        year="2023",
        by="SCORE",
        descending=True,
        first=2,
    )["ranking"]
    assert first["totalCount"] == 6 and first["pageInfo"]["hasNextPage"]
    rest = data_of(
        client,
        RANK,
        under="6401",
        level="COUNTY",
        year="2023",
        by="SCORE",
        descending=True,
        after=first["pageInfo"]["endCursor"],
    )["ranking"]
    assert [e["node"]["rank"] for e in rest["edges"]] == [2, 4, None, None]
    unknown = graphql(
        client, RANK, under="6401", level="COUNTY", year="2023", by="nope", descending=True
    )
    assert "unknown indicator 'nope'" in unknown["errors"][0]["message"]


def test_rankings_and_assessments_take_a_bounded_number_of_statements(
    world: tuple[str, TestClient], sql_statements: StatementCounter
) -> None:
    _, client = world
    # 2031 has no data: every score is 0, a tie. Figures are ranked by 2024's.
    rows = [
        target(unit, "births", "AT_MOST", 50, year="2031")
        for county in REPORTING
        for unit in (county, first_village(county))
    ]
    assert set_targets(client, rows)["ok"]
    years = {"SCORE": "2031", "birth_rate": "2024"}
    counts = {}
    for under, level in (
        ("6401", "COUNTY"),
        ("64", "COUNTY"),
        ("6401", "VILLAGE"),
        ("64", "VILLAGE"),
    ):
        for by in ("SCORE", "birth_rate"):
            ranks(client, under=under, level=level, year=years[by], by=by)  # tokens cached
            sql_statements.statements.clear()
            ranked = ranks(client, under=under, level=level, year=years[by], by=by, first=5)
            counts[under, level, by] = sql_statements.count
            assert ranked[0][1] == 1
    # The same statements for 22 counties as for 6, for 2,912 villages as for 600-odd.
    for level in ("COUNTY", "VILLAGE"):
        for by in ("SCORE", "birth_rate"):
            assert counts["6401", level, by] == counts["64", level, by], counts
            # The catalogue (6 small tables), the root, the units, their targets and the
            # thresholds above them, the store's totals, report counts and sizes, and the
            # approvals and reopenings that say which data an assessment counts.
            assert counts["64", level, by] <= 15, counts
    children = """query($first: Int!) { jurisdiction(code: "6401") { children(first: $first) {
      edges { node { code assessment(year: "2031") { grade } targets(year: "2031") { value } } }
    } } }"""
    data_of(client, children, first=2)
    sql_statements.statements.clear()
    data_of(client, children, first=2)
    two = sql_statements.count
    sql_statements.statements.clear()
    data_of(client, children, first=100)
    assert sql_statements.count == two, sql_statements.statements


def test_bad_input_is_refused_whole_and_stores_nothing(world: tuple[str, TestClient]) -> None:
    url, client = world
    good = target(A, "births", "AT_MOST", 1000, year="2027")
    before = stored(url)
    cases = [
        (
            target(A, "nope", "AT_MOST", 1, year="2027"),
            "BAD_USER_INPUT",
            "unknown indicator 'nope'",
        ),
        (
            target(A, "births", "AT_MOST", 1, year="2027", weight=-1),
            "BAD_USER_INPUT",
            "weight must be above 0",
        ),
        (
            target(A, "births", "AT_MOST", 1, year="2027", weight=0),
            "BAD_USER_INPUT",
            "weight must be above 0",
        ),
        (
            target(A, "births", "AT_MOST", 1, year="2027-03"),
            "BAD_USER_INPUT",
            "a target is for a year",
        ),
        (
            target("64", "births", "AT_MOST", 1, year="2027"),
            "FORBIDDEN",
            "64: targets are set by the units above it",
        ),
        (
            target("99", "births", "AT_MOST", 1, year="2027"),
            "NOT_FOUND",
            "no jurisdiction has code '99'",
        ),
        (good, "BAD_USER_INPUT", "the same target (640104, 2027, births) as row 0"),
    ]
    for row, code, message in cases:
        answer = set_targets(client, [good, row])
        assert not answer["ok"] and answer["changed"] == 0, row
        assert [(e["index"], e["code"]) for e in answer["errors"]] == [(1, code)], answer
        assert message in answer["errors"][0]["message"], answer
        assert stored(url) == before
    # A bound that is not AT_MOST or AT_LEAST never reaches the resolver.
    bad_bound = graphql(client, SET, rows=[{**good, "bound": "BELOW"}], reason="x")
    assert "BELOW" in bad_bound["errors"][0]["message"]
    blank = graphql(client, SET, rows=[good], reason=" ")
    assert blank["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    removed = data_of(
        client, REMOVE, rows=[{"jurisdiction": A, "year": "2027", "indicator": "births"}]
    )
    assert removed["removeTargets"]["errors"][0]["code"] == "NOT_FOUND"
    assert stored(url) == before


def test_scope_outside_is_forbidden(world: tuple[str, TestClient]) -> None:
    url, client = world
    assert set_targets(client, [target(A, "births", "AT_MOST", 2000, year="2028")])["ok"]
    county_admin = issue_token(url, "xingqing-admin", "admin", A)
    with client_for(url, county_admin) as admin:
        # Its own county is graded by the province; its townships it may set targets for.
        own = set_targets(admin, [target(A, "births", "AT_MOST", 1, year="2028")])
        assert [e["code"] for e in own["errors"]] == ["FORBIDDEN"]
        assert "640104: targets are set by the units above it" in own["errors"][0]["message"]
        other = set_targets(admin, [target(B, "births", "AT_MOST", 1, year="2028")])
        assert [e["code"] for e in other["errors"]] == ["FORBIDDEN"]
        assert "640105" in other["errors"][0]["message"]
        township = f"{A}001"
        assert set_targets(admin, [target(township, "births", "AT_MOST", 1, year="2028")])["ok"]
        # Its own assessment it may read; a sibling's is FORBIDDEN, not empty.
        assert assessment(admin, A, "2028")["grade"] == "FAILED"
        sibling = graphql(admin, ASSESS, code=B, year="2028")
        assert sibling["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        ranking = graphql(
            admin, RANK, under="6401", level="COUNTY", year="2028", by="SCORE", descending=True
        )
        assert ranking["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        changes = graphql(admin, '{ targetChanges(under: "6401") { totalCount } }')
        assert changes["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    system = issue_token(url, "stats-system", "aggregate_reader", "64")
    with client_for(url, system) as reader:
        for field in ("assessment", "targets"):
            body = graphql(
                reader, f'{{ jurisdiction(code: "{A}") {{ {field}(year: "2028") {{ year }} }} }}'
            )
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body


def test_every_change_is_audited(world: tuple[str, TestClient]) -> None:
    _, client = world
    row = target(D, "deaths", "AT_MOST", 100, year="2029", veto=True)
    assert set_targets(client, [row], reason="first")["changed"] == 1
    assert set_targets(client, [{**row, "value": 90}], reason="tighter")["changed"] == 1
    removed = data_of(
        client, REMOVE, rows=[{"jurisdiction": D, "year": "2029", "indicator": "deaths"}]
    )
    assert removed["removeTargets"] == {"ok": True, "changed": 1, "errors": []}
    entries = data_of(
        client,
        """{ targetChanges(under: "640121", first: 3) { totalCount edges { node {
          actor reason source jurisdictionCode year indicator
          old { value veto } new { value weight veto } } } } }""",
    )["targetChanges"]
    assert [e["node"]["reason"] for e in entries["edges"]] == [
        "no longer assessed",
        "tighter",
        "first",
    ]
    newest, middle, oldest = (e["node"] for e in entries["edges"])
    assert newest["old"] == {"value": 90.0, "veto": True} and newest["new"] is None
    assert middle["old"]["value"] == 100.0 and middle["new"]["value"] == 90.0
    assert oldest["old"] is None and oldest["new"] == {"value": 100.0, "weight": 1.0, "veto": True}
    assert {
        (e["node"]["actor"], e["node"]["source"], e["node"]["year"]) for e in entries["edges"]
    } == {("targets-admin", "api", "2029")}


def test_csv_import_line_numbers_all_or_nothing(
    world: tuple[str, TestClient], tmp_path: Path
) -> None:
    url, client = world
    header = "unit,year,indicator,bound,value,weight,veto\n"
    bad = tmp_path / "targets-bad.csv"
    bad.write_text(
        header
        + f"{A},2030,births,at_most,2000,2,false\n"
        + f"{A},2030,birth_rate,below,9.5,40,false\n"
        + f"{A},2030,nope,at_most,1,1,false\n"
        + f"{B},2030,policy_rate,at_least,95,-1,true\n"
        + f"{A},2030,births,at_most,1999,2,false\n"
    )
    before = stored(url)
    result = quhua("targets", "import", str(bad), url=url)
    assert result.exit_code == 1
    assert f"{bad}:3: bound 'below' is not AT_MOST or AT_LEAST" in result.stderr
    assert f"{bad}:4: unknown indicator 'nope'" in result.stderr
    assert f"{bad}:5: weight must be above 0" in result.stderr
    assert f"{bad}:6: the same target (640104, 2030, births) as line 2" in result.stderr
    assert stored(url) == before
    good = tmp_path / "targets.csv"
    good.write_text(
        header
        + f"{A},2030,births,AT_MOST,2000,2,false\n"
        + f"{B},2030FP,policy_rate,at_least,95,18,true\n"
        + "64,2030,births,at_most,1234567.25,,\n"
    )
    checked = quhua("targets", "import", str(good), "--dry-run", url=url)
    assert "3 targets, none wrong; nothing written" in checked.stdout, checked.stderr
    assert stored(url) == before
    result = quhua("targets", "import", str(good), "--reason", "signed 2030", url=url)
    assert result.exit_code == 0, result.stderr
    assert "3 targets; 3 set or changed" in result.stdout
    listed = quhua("targets", "list", "--under", "64", "--year", "2030", url=url)
    assert listed.stdout.splitlines() == [
        header.strip(),
        "64,2030,births,at_most,1234567.25,1,false",
        f"{A},2030,births,at_most,2000,2,false",
    ]
    sources = data_of(
        client, '{ targetChanges(under: "64", first: 3) { edges { node { source reason } } } }'
    )
    assert {e["node"]["source"] for e in sources["targetChanges"]["edges"]} == {
        "import targets.csv:2",
        "import targets.csv:3",
        "import targets.csv:4",
    }


def county_figures_of_the_demo(year: int) -> dict[str, dict[str, float]]:
    """Each county's births, birth rate, natural growth and family-planning rate of the
    demo's synthetic reports for the year, summed here from the generator's rows."""
    with shipped_data(NINGXIA).open(encoding="utf-8") as file:
        villages = [row["code"] for row in csv.DictReader(file) if row["level"] == "village"]
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    population: dict[str, dict[tuple[str, str], list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for code, element, _, value, cell in generate(
        villages, first_year=year, years=1, seed=DEMO_SEED
    ):
        county = code[:6]
        if element == "population":
            population[county][code, cell].append(float(value))
        else:
            sums[county][element] += float(value)
    figures = {}
    for county, found in sums.items():
        people = sum(sum(months) / len(months) for months in population[county].values())
        figures[county] = {
            "births": found["births"],
            "birth_rate": found["births"] / people * 1000,
            "natural_growth_rate": (found["births"] - found["deaths"]) / people * 1000,
            "policy_rate": found["policy_births"] / found["births"] * 100,
        }
    return figures


def test_the_demo_targets_show_every_grade() -> None:
    figures = county_figures_of_the_demo(int(DEMO_TARGET_YEAR))
    rows = demo_target_rows(sorted(figures))
    grades = {}
    for county in figures:
        own = [row for row in rows if row.jurisdiction == county]
        specs = [
            TargetSpec(r.indicator, Bound(str(r.bound)), r.value or 0, r.weight, r.veto)
            for r in own
        ]
        found = assess(
            Period.parse(DEMO_TARGET_YEAR),
            specs,
            [Actual(figures[county][s.indicator]) for s in specs],
            thresholds=Thresholds(),
            basis=Basis.ALL_DATA,
        )
        assert found is not None
        grades[county] = found.grade
    assert set(grades.values()) == set(Grade), grades
    assert len(rows) == 22 * 4


def test_the_demo_sets_its_targets_once(tmp_path: Path) -> None:
    with ningxia_world("sqlite", tmp_path, "demo-check") as (url, _):
        for _ in range(2):
            engine = async_engine(url)
            asyncio.run(issue_demo_tokens(engine))
            asyncio.run(engine.dispose())
        # 22 counties, four targets each, audited once: the second run changed nothing.
        assert stored(url) == (22 * 4, 22 * 4)
