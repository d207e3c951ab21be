"""Validation rules on data built to trip each one: found by the writers' refresh and by
`quhua validate`, listed through GraphQL within the caller's scope, counted in the grid,
resolved when the data is fixed, kept true across catalogue changes."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.testclient import TestClient

from core.db.engine import SQLITE_WRITE, async_engine, sync_engine
from core.db.session import IN_BACKGROUND, RequestSession
from indicators.catalogue_file import CatalogueError, parse_catalogue
from indicators.catalogue_index import catalogue_index, catalogue_index_sync
from indicators.periods import Period
from indicators.validation.models import ValidationViolation
from indicators.validation.refresh import (
    Violation,
    blocking_violations,
    refresh_violations,
    refresh_violations_sync,
)
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tenancy.models import Jurisdiction
from tests.cli import quhua
from tests.conftest import StatementCounter, client_for, data_of, graphql
from tests.databases import fresh_database, issue_token, load_tree, ningxia_world, upgrade

DEFAULT = shipped_data(DEFAULT_CATALOGUE).read_text(encoding="utf-8")
# Rules beside the shipped ones, one for each operator and strategy the shipped ones lack.
TEST_RULES = """
[validation_rules.t_equal]
name = "checks done equal checks due"
left = "three_checks_done"
operator = "=="
right = "three_checks_due"

[validation_rules.t_not_equal]
name = "fees collected differ from fees assessed"
left = "fees_collected"
operator = "!="
right = "fees_assessed"

[validation_rules.t_less]
name = "defects fewer than births"
left = "birth_defects"
operator = "<"
right = "births"

[validation_rules.t_greater]
name = "more married women than users"
left = "married_women"
operator = ">"
right = "contraceptive_users"

[validation_rules.t_greater_or_equal]
name = "population at least births"
left = "population"
operator = ">="
right = "births"

[validation_rules.t_exclusive]
name = "recipients or money paid, not both"
left = "reward_recipients"
operator = "exclusive_pair"
right = "reward_paid"

[validation_rules.t_any]
name = "skipped if any value is missing"
left = "policy_births + birth_defects"
operator = "<="
right = "deaths"
missing_value_strategy = "skip_if_any_value_missing"

[validation_rules.t_all]
name = "skipped if all values of a side are missing"
left = "policy_births + birth_defects"
operator = "<="
right = "deaths"
missing_value_strategy = "skip_if_all_values_missing"

[validation_rules.t_never]
name = "never skipped"
left = "policy_births + birth_defects"
operator = "<="
right = "deaths"
missing_value_strategy = "never_skip"

[validation_rules.t_township]
name = "policy births within births, per township"
left = "policy_births"
operator = "<="
right = "births"
levels = ["township"]
"""
SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "monthly report") { ok errors { message } } }"""
DELETE = """mutation($rows: [ValueKeyInput!]!) {
  deleteValues(input: $rows, reason: "entered by mistake") { ok errors { message } } }"""
VIOLATIONS = """query($under: String!, $period: String!, $rule: String, $importance: Importance,
    $resolved: Boolean! = false, $first: Int, $after: String) {
  validationViolations(under: $under, period: $period, rule: $rule, importance: $importance,
      includeResolved: $resolved, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id period leftValue rightValue foundAt resolvedAt
      jurisdiction { code } rule { code importance operator levels } } } } }"""
MARCH = "2024-03"


def villages(prefix: str) -> list[str]:
    """The villages of the shipped Ningxia tree whose code starts with the prefix."""
    lines = shipped_data("divisions_2023_ningxia.csv").read_text(encoding="utf-8").splitlines()
    return [line.split(",")[0] for line in lines if ",village," in line and line.startswith(prefix)]


def value(
    code: str, element: str, number: float, *, at: str = MARCH, cell: str = ""
) -> dict[str, Any]:
    return {
        "jurisdiction": code,
        "element": element,
        "period": at,
        "disaggregation": cell,
        "value": number,
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Ningxia with the shipped catalogue and the test rules; shared by the module's tests,
    each of which writes to villages of its own."""
    folder = tmp_path_factory.mktemp("validation")
    with fresh_database(str(request.param), folder) as url:
        upgrade(url)
        load_tree(url)
        catalogue = folder / "catalogue.toml"
        catalogue.write_text(DEFAULT + TEST_RULES, encoding="utf-8")
        loaded = quhua("catalogue", "load", str(catalogue), url=url)
        assert loaded.exit_code == 0, loaded.stdout
        TOKENS[url] = issue_token(url, "validation-admin", "admin", "64")
        yield url


TOKENS: dict[str, str] = {}


@pytest.fixture
def admin(world: str) -> Iterator[TestClient]:
    with client_for(world, TOKENS[world]) as client:
        yield client


def submit(client: TestClient, rows: list[dict[str, Any]]) -> None:
    outcome = data_of(client, SUBMIT, rows=rows)["submitValues"]
    assert outcome["ok"], outcome["errors"]


def validate(url: str, under: str, period: str = MARCH, *rules: str) -> str:
    args = [arg for rule in rules for arg in ("--rule", rule)]
    ran = quhua("validate", "--under", under, "--period", period, *args, url=url)
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    return ran.stdout


def listed(
    client: TestClient, under: str, period: str = MARCH, **arguments: Any
) -> list[dict[str, Any]]:
    found = data_of(client, VIOLATIONS, under=under, period=period, **arguments)
    return [edge["node"] for edge in found["validationViolations"]["edges"]]


def sides(nodes: list[dict[str, Any]]) -> list[tuple[str, str, float | None, float | None]]:
    return sorted(
        (n["rule"]["code"], n["jurisdiction"]["code"], n["leftValue"], n["rightValue"])
        for n in nodes
    )


def unit_id(url: str, code: str) -> int:
    engine = sync_engine(url)
    with engine.connect() as connection:
        found = connection.execute(select(Jurisdiction.id).where(Jurisdiction.code == code))
        unit = int(found.scalar_one())
    engine.dispose()
    return unit


def refreshed(url: str, code: str, period: str = MARCH) -> list[Violation]:
    """What an importer's refresh returns for the unit and month, committed."""
    month = Period.parse(period).month_index
    cell = (unit_id(url, code), month)
    engine = sync_engine(url)
    with (
        engine.connect().execution_options(**{SQLITE_WRITE: True}) as connection,
        connection.begin(),
    ):
        found = refresh_violations_sync(connection, catalogue_index_sync(connection), [cell])
    engine.dispose()
    return found


# ---- the catalogue's rules --------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('left = "birth"', "validation_rules.r.left: unknown element 'birth'"),
        ('left = "births[sex=boy]"', "validation_rules.r.left: category sex has no option 'boy'"),
        ('operator = "=<"', "validation_rules.r.operator: '=<' is not one of =="),
        ('importance = "urgent"', "validation_rules.r.importance: 'urgent' is not one of low"),
        (
            'missing_value_strategy = "skip"',
            "validation_rules.r.missing_value_strategy: 'skip' is not one of",
        ),
        ('levels = ["hamlet"]', "validation_rules.r.levels: 'hamlet' is not a level"),
        ('colour = "red"', "validation_rules.r.colour: unknown key"),
    ],
)
def test_a_bad_rule_names_the_rule_and_the_field(table: str, says: str) -> None:
    rule = {"left": 'left = "policy_births"', "operator": 'operator = "<="'}
    key = table.split(" = ", maxsplit=1)[0]
    lines = {**rule, key: table}
    text = "\n".join(["[validation_rules.r]", 'name = "r"', 'right = "births"', *lines.values()])
    with pytest.raises(CatalogueError) as raised:
        parse_catalogue(tomllib.loads(DEFAULT + "\n" + text + "\n"))
    assert any(problem.startswith(says) for problem in raised.value.problems), raised.value


# ---- each operator, triggered and fixed -------------------------------------------------

BIRTHS = "sex=male;parity=1"
# rule → what fails it, the sides it records, what fixes it (rows to submit; None to delete)
OPERATORS: dict[
    str,
    tuple[
        list[tuple[str, float, str]],
        tuple[float | None, float | None],
        list[tuple[str, float | None, str]],
    ],
] = {
    "t_equal": (
        [("three_checks_done", 5, ""), ("three_checks_due", 4, "")],
        (5.0, 4.0),
        [("three_checks_due", 5, "")],
    ),
    "t_not_equal": (
        [("fees_collected", 100, ""), ("fees_assessed", 100, "")],
        (100.0, 100.0),
        [("fees_assessed", 120, "")],
    ),
    "t_less": (
        [("birth_defects", 3, ""), ("births", 3, BIRTHS)],
        (3.0, 3.0),
        [("births", 4, BIRTHS)],
    ),
    "policy_births_within_births": (
        [("policy_births", 5, ""), ("births", 3, BIRTHS)],
        (5.0, 3.0),
        [("births", 5, BIRTHS)],
    ),
    "t_greater": (
        [("married_women", 10, ""), ("contraceptive_users", 10, "method=iud")],
        (10.0, 10.0),
        [("married_women", 12, "")],
    ),
    "t_greater_or_equal": (
        [("population", 2, "sex=male"), ("births", 3, BIRTHS)],
        (2.0, 3.0),
        [("population", 3, "sex=male")],
    ),
    "births_with_population": (
        [("births", 3, BIRTHS)],
        (3.0, None),
        [("population", 90, "sex=male")],
    ),
    "t_exclusive": (
        [("reward_recipients", 2, ""), ("reward_paid", 100, "")],
        (2.0, 100.0),
        [("reward_paid", None, "")],
    ),
}
# Villages of Xingqing, a few for each test: none writes where another does.
POOL = villages("640104")
OPERATOR_VILLAGES = dict(zip(OPERATORS, POOL[:8], strict=True))


def write(client: TestClient, code: str, rows: list[tuple[str, float | None, str]]) -> None:
    stored = [
        value(code, element, number, cell=cell)
        for element, number, cell in rows
        if number is not None
    ]
    gone = [
        {"jurisdiction": code, "element": element, "period": MARCH, "disaggregation": cell}
        for element, number, cell in rows
        if number is None
    ]
    if stored:
        submit(client, stored)
    if gone:
        assert data_of(client, DELETE, rows=gone)["deleteValues"]["ok"]


@pytest.mark.parametrize("rule", list(OPERATORS))
def test_each_operator_fails_on_its_data_and_resolves_when_fixed(
    world: str, admin: TestClient, rule: str
) -> None:
    village = OPERATOR_VILLAGES[rule]
    failing, recorded, fixing = OPERATORS[rule]
    write(admin, village, failing)
    validate(world, village)
    found = listed(admin, village, rule=rule)
    assert sides(found) == [(rule, village, *recorded)]
    assert found[0]["period"] == MARCH and found[0]["resolvedAt"] is None
    write(admin, village, fixing)
    validate(world, village)
    assert listed(admin, village, rule=rule) == []
    history = listed(admin, village, rule=rule, resolved=True)
    assert [node["id"] for node in history] == [found[0]["id"]]
    assert history[0]["resolvedAt"] is not None


# ---- missing-value strategies --------------------------------------------------------------


def test_each_missing_value_strategy_skips_what_it_says(world: str, admin: TestClient) -> None:
    # left = policy_births + birth_defects, right = deaths; birth_defects never reported
    only_left, both = POOL[8:10]
    submit(admin, [value(only_left, "policy_births", 5)])
    submit(admin, [value(both, "policy_births", 5), value(both, "deaths", 3)])
    for village in (only_left, both):
        validate(world, village, MARCH, "t_any", "t_all", "t_never")
    found = sides(
        [
            n
            for v in (only_left, both)
            for n in listed(admin, v)
            if n["rule"]["code"] in ("t_any", "t_all", "t_never")
        ]
    )
    # any: a term is missing everywhere; all: the right side is wholly missing in one
    # village; never: missing counts as 0.
    assert found == sorted(
        [("t_all", both, 5.0, 3.0), ("t_never", both, 5.0, 3.0), ("t_never", only_left, 5.0, 0.0)]
    )
    submit(admin, [value(v, "deaths", 10) for v in (only_left, both)])
    for village in (only_left, both):
        validate(world, village, MARCH, "t_any", "t_all", "t_never")
    assert [
        n
        for v in (only_left, both)
        for n in listed(admin, v)
        if n["rule"]["code"] in ("t_all", "t_never")
    ] == []


# ---- importance, periods, the writers' refresh ------------------------------------------


async def _blocking(url: str, unit: int, month: int) -> tuple[list[Violation], list[Violation]]:
    """The refresh and the check submitReport makes, on a request's kind of session."""
    engine = async_engine(url)
    try:
        async with AsyncSession(engine) as raw:
            session = RequestSession(raw, IN_BACKGROUND)
            index = await catalogue_index(session)
            every = await refresh_violations(session, index, [(unit, month)])
            blocking = await blocking_violations(session, index, unit, month)
            await session.commit()
    finally:
        await engine.dispose()
    return every, blocking


def test_only_high_violations_block_a_report(world: str, admin: TestClient) -> None:
    village = POOL[10]
    # policy births above births (HIGH); births without population (LOW)
    submit(admin, [value(village, "policy_births", 5), value(village, "births", 3, cell=BIRTHS)])
    every, blocking = asyncio.run(
        _blocking(world, unit_id(world, village), Period.parse(MARCH).month_index)
    )
    assert {"policy_births_within_births", "births_with_population"} <= {v.rule.code for v in every}
    assert [(v.rule.code, v.left_value, v.right_value) for v in blocking] == [
        ("policy_births_within_births", 5.0, 3.0)
    ]
    high = listed(admin, village, importance="HIGH")
    assert [n["rule"]["code"] for n in high] == ["policy_births_within_births"]
    low = listed(admin, village, importance="LOW")
    assert [n["rule"]["code"] for n in low] == ["births_with_population"]
    submit(admin, [value(village, "births", 5, cell=BIRTHS)])
    assert (
        asyncio.run(_blocking(world, unit_id(world, village), Period.parse(MARCH).month_index))[1]
        == []
    )


def test_a_quarter_rule_reads_the_quarter_by_each_elements_aggregation(
    world: str, admin: TestClient
) -> None:
    village = POOL[11]
    rule = "fees_collected_within_assessed"
    submit(
        admin,
        [
            value(village, "fees_collected", 500, at="2024-01"),
            value(village, "fees_assessed", 400, at="2024-02"),
        ],
    )
    found = refreshed(world, village, "2024-02")
    assert [
        (v.rule.code, str(v.period), v.left_value, v.right_value)
        for v in found
        if v.rule.code == rule
    ] == [(rule, "2024-Q1", 500.0, 400.0)]
    # Listed for the quarter and its year, not for one of its months.
    assert len(listed(admin, village, "2024-Q1", rule=rule)) == 1
    assert len(listed(admin, village, "2024", rule=rule)) == 1
    assert listed(admin, village, "2024-02", rule=rule) == []
    submit(admin, [value(village, "fees_assessed", 200, at="2024-03")])
    assert [v for v in refreshed(world, village, "2024-03") if v.rule.code == rule] == []
    assert listed(admin, village, "2024-Q1", rule=rule) == []


def test_a_write_refreshes_the_rules_of_the_units_above(world: str, admin: TestClient) -> None:
    township = "640105001"
    first, second = villages(township)[:2]
    submit(admin, [value(first, "policy_births", 5), value(first, "births", 3, cell=BIRTHS)])
    # The village's own open violations come back; the township's are stored beside them.
    assert "t_township" not in {v.rule.code for v in refreshed(world, first)}
    found = listed(admin, township, rule="t_township")
    assert sides(found) == [("t_township", township, 5.0, 3.0)]
    submit(admin, [value(second, "births", 10, cell=BIRTHS)])
    refreshed(world, second)
    assert listed(admin, township, rule="t_township") == []
    assert listed(admin, first, rule="policy_births_within_births") != []


# ---- the grid, scoping, the command -------------------------------------------------------

GRID = """query($first: Int!, $importance: Importance) { rollup(under: "640106", level: TOWNSHIP,
  period: "2024-03", elements: ["births"], first: $first) {
    codes violations(importance: $importance) } }"""


def test_the_grid_counts_each_rows_open_violations_in_a_bounded_number_of_statements(
    world: str, admin: TestClient, sql_statements: StatementCounter
) -> None:
    townships = ["640106001", "640106002"]
    for township, count in zip(townships, (2, 1), strict=True):
        for village in villages(township)[:count]:
            submit(
                admin,
                [value(village, "policy_births", 5), value(village, "births", 3, cell=BIRTHS)],
            )
            validate(world, village)
    small = data_of(admin, GRID, first=2)["rollup"]
    assert small["codes"] == townships
    totals = [
        data_of(admin, VIOLATIONS, under=code, period=MARCH)["validationViolations"]["totalCount"]
        for code in townships
    ]
    assert small["violations"] == totals
    assert totals[0] > totals[1] > 0
    high = data_of(admin, GRID, first=2, importance="HIGH")["rollup"]["violations"]
    assert high == [2, 1]
    sql_statements.statements.clear()
    data_of(admin, GRID, first=2)
    few = sql_statements.count
    sql_statements.statements.clear()
    every = data_of(admin, GRID, first=1000)["rollup"]
    assert len(every["codes"]) > 2
    assert sql_statements.count == few, sql_statements.statements


def test_violations_are_read_within_the_readers_values_scope(world: str, admin: TestClient) -> None:
    village = POOL[12]
    submit(admin, [value(village, "policy_births", 5), value(village, "births", 3, cell=BIRTHS)])
    validate(world, village)
    viewer = issue_token(world, "xingqing-viewer", "viewer", "640104")
    reader = issue_token(world, "province-reader", "aggregate_reader", "64")
    with client_for(world, viewer) as client:
        own = data_of(client, VIOLATIONS, under="640104", period=MARCH, first=1000)
        codes = {e["node"]["jurisdiction"]["code"] for e in own["validationViolations"]["edges"]}
        assert village in codes and all(code.startswith("640104") for code in codes)
        for under in ("640105", "64"):
            body = graphql(client, VIOLATIONS, under=under, period=MARCH)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    with client_for(world, reader) as client:
        body = graphql(client, VIOLATIONS, under="640104", period=MARCH)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        body = graphql(client, GRID, first=2)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body


def test_pages_of_violations_follow_their_cursors(world: str, admin: TestClient) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = data_of(admin, VIOLATIONS, under="640104", period=MARCH, first=2, after=after)
        connection = page["validationViolations"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == connection["totalCount"] > 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--under", "99", "--period", MARCH], "--under: no jurisdiction has code '99'"),
        (["--under", "640104", "--period", "2024-13"], "--period:"),
        (["--under", "640104", "--period", MARCH, "--rule", "nope"], "--rule: no validation rule"),
    ],
)
def test_the_command_refuses_bad_arguments(world: str, args: list[str], says: str) -> None:
    ran = quhua("validate", *args, url=world)
    assert ran.exit_code == 2
    assert says in ran.stderr


def test_the_command_summarises_each_level(world: str, admin: TestClient) -> None:
    village = POOL[13]
    submit(admin, [value(village, "policy_births", 5), value(village, "births", 3, cell=BIRTHS)])
    # As if a writer had not refreshed them: the command finds them again.
    engine = sync_engine(world)
    with engine.begin() as connection:
        connection.execute(
            delete(ValidationViolation).where(
                ValidationViolation.jurisdiction_id == unit_id(world, village)
            )
        )
    engine.dispose()
    township = village[:9]
    out = validate(world, township, MARCH, "policy_births_within_births")
    lines = out.splitlines()
    assert lines[0].startswith(f"validated {township} ")
    assert lines[1].startswith("township: 1 units, 0 open violations")
    assert lines[2].startswith("village: ") and "(1 high)" in lines[2] and "1 new" in lines[2]
    again = validate(world, township, MARCH, "policy_births_within_births").splitlines()
    assert "0 new, 0 resolved" in again[2]


# ---- catalogue changes ------------------------------------------------------------------


def reload(url: str, folder: Path, text: str) -> str:
    path = folder / "changed.toml"
    path.write_text(text, encoding="utf-8")
    loaded = quhua("catalogue", "load", str(path), url=url)
    assert loaded.exit_code == 0, loaded.stdout + loaded.stderr
    return loaded.stdout


POLICY_RULE = 'left = "policy_births"\noperator = "<="\nright = "births"\nimportance = "high"'
FEES_ASSESSED = (
    'assessed in the month, in yuan."\nvalue_type = "amount"\nperiod_type = "month"\n'
    'time_aggregation = "sum"'
)


def test_a_catalogue_change_keeps_violations_true(backend: str, tmp_path: Path) -> None:
    assert DEFAULT.count(POLICY_RULE) == 1 and DEFAULT.count(FEES_ASSESSED) == 1
    village = POOL[0]
    with ningxia_world(backend, tmp_path, "admin") as (url, token), client_for(url, token) as admin:
        births = [
            value(village, "policy_births", 5),
            value(village, "births", 3, cell=BIRTHS),
            value(village, "population", 300, cell="sex=male"),
        ]
        fees = [
            value(village, "fees_collected", 500, at="2024-01"),
            value(village, "fees_assessed", 400, at="2024-02"),
            value(village, "fees_assessed", 200, at="2024-03"),
        ]
        submit(admin, births + fees)
        validate(url, village, "2024-Q1")
        assert [n["rule"]["code"] for n in listed(admin, village, "2024-Q1")] == [
            "policy_births_within_births"
        ]
        # The rule now asks the opposite, and fees assessed count their latest month: the
        # one re-run holds, the other reads the quarter anew and fails.
        changed = DEFAULT.replace(POLICY_RULE, POLICY_RULE.replace("<=", ">=")).replace(
            FEES_ASSESSED, FEES_ASSESSED.replace('"sum"', '"last"')
        )
        out = reload(url, tmp_path, changed)
        assert "'validation_rules': 1" in out and "rebuilt the aggregates of fees_assessed" in out
        assert sides(listed(admin, village, "2024-Q1")) == [
            ("fees_collected_within_assessed", village, 500.0, 200.0)
        ]
        # A rule the catalogue no longer names goes, with its violations.
        start = changed.index("[validation_rules.fees_collected_within_assessed]")
        end = changed.index("[validation_rules.births_with_population]")
        reload(url, tmp_path, changed[:start] + changed[end:])
        assert listed(admin, village, "2024-Q1") == []
        gone = "fees_collected_within_assessed"
        body = graphql(admin, VIOLATIONS, under=village, period="2024-Q1", rule=gone)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


# ---- the writers ------------------------------------------------------------------------

SUBMIT_WARNED = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "monthly report") {
    ok violations { jurisdiction period leftValue rightValue rule { code importance } } } }"""


def test_a_submission_warns_of_what_fails_and_its_fix_resolves_it(
    world: str, admin: TestClient
) -> None:
    village = POOL[14]
    rows = [
        value(village, "policy_births", 5),
        value(village, "births", 3, cell=BIRTHS),
        value(village, "population", 400, cell="sex=female"),
        value(village, "deaths", 9),
    ]
    warned = data_of(admin, SUBMIT_WARNED, rows=rows)["submitValues"]
    assert warned["ok"]
    assert [(w["rule"]["code"], w["leftValue"], w["rightValue"]) for w in warned["violations"]] == [
        ("policy_births_within_births", 5.0, 3.0)
    ]
    assert warned["violations"][0]["rule"]["importance"] == "HIGH"
    assert [n["rule"]["code"] for n in listed(admin, village)] == ["policy_births_within_births"]
    fixed = data_of(admin, SUBMIT_WARNED, rows=[value(village, "births", 6, cell=BIRTHS)])
    assert fixed["submitValues"]["violations"] == []
    assert listed(admin, village) == []
    assert [n["resolvedAt"] is not None for n in listed(admin, village, resolved=True)] == [True]


def test_an_import_refreshes_the_violations_of_what_it_changed(
    world: str, admin: TestClient, tmp_path: Path
) -> None:
    first, second = POOL[15:17]
    lines = ["jurisdiction,element,period,value,disaggregation"]
    for village in (first, second):
        lines += [
            f"{village},policy_births,2024-03,7,",
            f"{village},births,2024-03,2,{BIRTHS}",
            f"{village},population,2024-03,500,sex=male",
            f"{village},deaths,2024-03,10,",
        ]
    path = tmp_path / "march.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ran = quhua("values", "import", str(path), "--json", url=world)
    assert ran.exit_code == 0, ran.stdout
    assert '"violations": 2' in ran.stdout
    found = sides([n for v in (first, second) for n in listed(admin, v)])
    assert found == [("policy_births_within_births", v, 7.0, 2.0) for v in (first, second)]
    path.write_text(lines[0] + f"\n{first},births,2024-03,9,{BIRTHS}\n", encoding="utf-8")
    assert quhua("values", "import", str(path), url=world).exit_code == 0
    assert listed(admin, first) == [] and len(listed(admin, second)) == 1
