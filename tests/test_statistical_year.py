"""The statistical year (`2024FP`): parsed exactly, its first month set by the catalogue, and
read like a calendar year by every aggregate, indicator, grid and series, where it equals
a brute-force sum or average of the raw monthly values."""

from __future__ import annotations

import csv
import json
import random
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import inspect, text
from starlette.testclient import TestClient

from core.db.engine import sync_engine
from indicators.catalogue_file import CatalogueError, parse_catalogue
from indicators.periods import Period, PeriodError, PeriodType
from quhua import migrate
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.cli import quhua
from tests.conftest import client_for, data_of, graphql
from tests.databases import BACKENDS, cloned_database, fresh_database, issue_token, upgrade

# ---- parsing ------------------------------------------------------------------------------


def test_2024fp_runs_from_october_2023_to_september_2024() -> None:
    year = Period.parse("2024FP", statistical_year_starts=10)
    assert year == Period(2023, 10, PeriodType.YEAR)
    assert [str(m) for m in year.months()][::11] == ["2023-10", "2024-09"]
    assert len(year.months()) == 12
    assert str(year) == "2024FP" and year.kind == "statistical year"
    assert str(year.following()) == "2025FP"
    assert year.contains(Period.parse("2023-Q4")) and year.contains(Period.parse("2024-09"))
    assert not year.contains(Period.parse("2024")) and not year.contains(Period.parse("2024-10"))


def test_another_first_month_moves_the_year() -> None:
    april = Period.parse("2024FP", statistical_year_starts=4)
    assert (str(april.months()[0]), str(april.months()[-1])) == ("2023-04", "2024-03")
    # Statistical years that start in January are the calendar years.
    assert Period.parse("2024FP", statistical_year_starts=1) == Period.parse("2024")
    with pytest.raises(ValueError, match="1–12"):
        Period.statistical_year(2024, 13)


@pytest.mark.parametrize(
    "text", ["2024fp", " 2024FP", "2024FP\n", "2024-FP", "24FP", "２０２４FP", "2024FY", "FP2024"]
)
def test_only_the_exact_spelling_is_a_statistical_year(text: str) -> None:
    with pytest.raises(PeriodError, match="or a statistical year"):
        Period.parse(text, statistical_year_starts=10)


def test_without_a_first_month_a_statistical_year_is_refused() -> None:
    with pytest.raises(PeriodError, match="never reported for"):
        Period.parse("2024FP")
    with pytest.raises(PeriodError, match="the year must lie"):
        Period.parse("2200FP", statistical_year_starts=10)


@given(st.integers(1950, 2150), st.integers(1, 12))
def test_a_statistical_year_prints_as_it_parses(ends_in: int, starts: int) -> None:
    year = Period.parse(f"{ends_in}FP", statistical_year_starts=starts)
    assert Period.parse(str(year), statistical_year_starts=starts) == year
    months = [m.month_index for m in year.months()]
    assert months == list(range(months[0], months[0] + 12))
    assert year.months()[-1].year == ends_in and year.first_month == starts
    assert year.following().month_index == months[-1] + 1


def _catalogue(periods: str) -> dict[str, Any]:
    return tomllib.loads(
        "[elements.births]\nname = 'b'\nvalue_type = 'integer'\nperiod_type = 'month'\n"
        "time_aggregation = 'sum'\n" + periods
    )


def test_the_catalogue_names_the_first_month_october_by_default() -> None:
    assert parse_catalogue(_catalogue("")).statistical_year_starts == 10
    assert parse_catalogue(_catalogue("[periods]\n")).statistical_year_starts == 10
    spec = parse_catalogue(_catalogue("[periods]\nstatistical_year_starts = 4\n"))
    assert spec.statistical_year_starts == 4
    with pytest.raises(CatalogueError, match=r"periods\.starts: unknown key"):
        parse_catalogue(_catalogue("[periods]\nstarts = 4\n"))


@pytest.mark.parametrize(
    ("written", "read"), [("0", 0), ("13", 13), ("'10'", "10"), ("true", True), ("10.0", 10.0)]
)
def test_a_first_month_that_is_no_month_is_refused(written: str, read: object) -> None:
    with pytest.raises(CatalogueError) as refused:
        parse_catalogue(_catalogue(f"[periods]\nstatistical_year_starts = {written}\n"))
    assert refused.value.problems == [
        f"periods.statistical_year_starts: {read!r} is not a month: write 1 to 12"
    ]


# ---- reading through GraphQL --------------------------------------------------------------

# A small tree: two cities, two counties, three townships, six villages.
TREE = [
    ("64", "province", ""),
    ("6401", "city", "64"),
    ("640104", "county", "6401"),
    ("640104001", "township", "640104"),
    ("640104001001", "village", "640104001"),
    ("640104001002", "village", "640104001"),
    ("640104001003", "village", "640104001"),
    ("640104002", "township", "640104"),
    ("640104002001", "village", "640104002"),
    ("640104002002", "village", "640104002"),
    ("6402", "city", "64"),
    ("640202", "county", "6402"),
    ("640202001", "township", "640202"),
    ("640202001001", "village", "640202001"),
]
LEVELS = {code: level for code, level, _ in TREE}
# element → (time aggregation, months per stored period, reporting levels)
ELEMENTS = {
    "births": ("sum", 1, {"village"}),
    "population": ("average", 1, {"village"}),
    "married_women": ("last", 1, {"village"}),
    "funding": ("sum", 3, {"county", "township"}),
    "census_population": ("last", 12, {"county"}),
}
# Reported months: the end of 2023FP, all of 2024FP, the start of 2025FP.
MONTHS = [(2023, m) for m in range(7, 13)] + [(2024, m) for m in range(1, 12)]
FIGURES = """{ value reportingUnits expectedUnits nullReason }"""
INDICATOR = """{ code value numerator denominator reportingUnits expectedUnits nullReason }"""

Rows = list[tuple[str, str, str, int, float]]  # unit, element, combo key, month index, value


def _reports(seed: int) -> list[dict[str, Any]]:
    """Monthly reports of the villages (some months and cells missing), quarterly funding
    of townships and counties, and the counties' censuses of 2023 and 2024."""
    draw = random.Random(seed)
    rows: list[dict[str, Any]] = []

    def add(unit: str, element: str, period: str, cell: str, value: float) -> None:
        rows.append(
            {
                "jurisdiction": unit,
                "element": element,
                "period": period,
                "disaggregation": cell,
                "value": value,
            }
        )

    # A village that reports only the months either side of 2024FP.
    edge = "640104002002"
    for period in ("2023-09", "2024-10"):
        add(edge, "births", period, "sex=female;parity=1", 1)
        add(edge, "population", period, "sex=female", 300)
        add(edge, "married_women", period, "", 70)
    for unit, level in LEVELS.items():
        for year, month in MONTHS:
            if level == "village" and unit != edge and draw.random() < 0.85:
                for sex in ("male", "female"):
                    for parity in ("1", "2", "3plus"):
                        if draw.random() < 0.7:
                            add(
                                unit,
                                "births",
                                f"{year}-{month:02d}",
                                f"sex={sex};parity={parity}",
                                draw.randint(0, 6),
                            )
                    add(
                        unit,
                        "population",
                        f"{year}-{month:02d}",
                        f"sex={sex}",
                        draw.randint(400, 700),
                    )
                if draw.random() < 0.8:
                    add(unit, "married_women", f"{year}-{month:02d}", "", draw.randint(90, 200))
            if level in ("county", "township") and month % 3 == 1 and draw.random() < 0.9:
                add(unit, "funding", f"{year}-Q{month // 3 + 1}", "", draw.randint(0, 10**6) / 100)
        if level == "county":
            for year in (2023, 2024):
                for sex in ("male", "female"):
                    add(
                        unit,
                        "census_population",
                        f"{year}",
                        f"sex={sex}",
                        draw.randint(10**4, 10**5),
                    )
    return rows


def _stored(url: str) -> Rows:
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            return [
                (code, element, key, month, float(value))
                for code, element, key, month, value in connection.execute(
                    text(
                        "SELECT j.code, e.code, c.key, v.month_index, v.value "
                        "FROM data_values v JOIN jurisdictions j ON j.id = v.jurisdiction_id "
                        "JOIN option_combos c ON c.id = v.combo_id "
                        "JOIN data_elements e ON e.id = c.element_id"
                    )
                )
            ]
    finally:
        engine.dispose()


def brute(rows: Rows, code: str, element: str, first: int, options: str = "") -> dict[str, Any]:
    """The element over the twelve months from `first` (a month index), by its definition:
    each unit's stored periods lying wholly inside, summed, averaged or the latest, then
    summed over the subtree; null where nobody reported or a stored period sticks out."""
    aggregation, length, levels = ELEMENTS[element]
    wanted = set(filter(None, options.split(";")))
    series: dict[tuple[str, str], dict[int, float]] = {}
    for unit, name, key, month, value in rows:
        inside = first <= month and month + length <= first + 12 and first % length == 0
        if name == element and unit.startswith(code) and inside:
            series.setdefault((unit, key), {})[month] = value
    reporting = len({unit for unit, _ in series})
    expected = sum(1 for unit, level in LEVELS.items() if unit.startswith(code) and level in levels)
    total = 0.0
    for (_, key), values in series.items():
        if not wanted <= set(key.split(";")):
            continue
        months = sorted(values)
        if aggregation == "sum":
            total += sum(values.values())
        elif aggregation == "average":
            total += sum(values.values()) / len(values)
        else:
            total += values[months[-1]]
    # A stored period sticking out of the year leaves the element unread: nobody reported.
    figure = total if reporting else None
    return {"value": figure, "reportingUnits": reporting, "expectedUnits": expected}


def close(got: float | None, want: float | None) -> bool:
    if got is None or want is None:
        return got is want
    return abs(got - want) <= 1e-9 * max(1.0, abs(want))


@pytest.fixture(scope="module", params=BACKENDS)
def template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, str]]:
    """The tree, the shipped catalogue and a year and a half of reports, loaded by the
    `quhua` command (nothing holds a connection: tests clone it); and an admin's token."""
    folder = tmp_path_factory.mktemp("statistical-year")
    with fresh_database(str(request.param), folder) as url:
        upgrade(url)
        tree = folder / "tree.csv"
        with tree.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["code", "name", "level", "parent_code"])
            writer.writerows([code, f"单位{code}", level, parent] for code, level, parent in TREE)
        for command in (
            ("divisions", "load", str(tree)),
            ("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE))),
        ):
            done = quhua(*command, url=url)
            assert done.exit_code == 0, done.output
        values = folder / "values.csv"
        rows = _reports(19)
        with values.open("w", newline="", encoding="utf-8") as handle:
            reports = csv.DictWriter(handle, fieldnames=list(rows[0]))
            reports.writeheader()
            reports.writerows(rows)
        imported = quhua("values", "import", str(values), url=url)
        assert imported.exit_code == 0, imported.output
        yield url, folder, issue_token(url, "admin", "admin", "64")


@pytest.fixture(scope="module")
def world(template: tuple[str, Path, str]) -> Iterator[tuple[TestClient, Rows]]:
    """A copy of the template to read, as the province's administrator."""
    url, folder, token = template
    with cloned_database(url, folder) as copy, client_for(copy, token) as client:
        yield client, _stored(copy)


def index_of(period: str, starts: int = 10) -> int:
    return Period.parse(period, statistical_year_starts=starts).month_index


# indicator → (numerator element, its options, denominator element, its options, factor)
INDICATORS = {
    "birth_rate": ("births", "", "population", "", 1000),
    "sex_ratio_at_birth": ("births", "sex=male", "births", "sex=female", 100),
    "contraceptive_prevalence": ("contraceptive_users", "", "married_women", "", 100),
    "funding_per_capita": ("funding", "", "population", "", 1),
}
YEARS = ["2023FP", "2024FP", "2025FP"]


def brute_indicator(rows: Rows, code: str, indicator: str, first: int) -> dict[str, Any]:
    top, top_options, bottom, bottom_options, factor = INDICATORS[indicator]
    numerator = brute(rows, code, top, first, top_options)["value"] if top in ELEMENTS else None
    denominator = brute(rows, code, bottom, first, bottom_options)["value"]
    value = numerator / denominator * factor if numerator is not None and denominator else None
    return {"value": value, "numerator": numerator, "denominator": denominator}


def test_every_unit_reads_statistical_years_as_brute_force(
    world: tuple[TestClient, Rows],
) -> None:
    client, rows = world
    fields = []
    for y, year in enumerate(YEARS):
        for element in ELEMENTS:
            fields.append(f'{element}{y}: value(element: "{element}", period: "{year}") {FIGURES}')
        fields.append(
            f'boys{y}: value(element: "births", period: "{year}", disaggregation: "sex=male") '
            f"{FIGURES}"
        )
        fields.append(f'rate{y}: indicator(code: "birth_rate", period: "{year}") {INDICATOR}')
        fields.append(
            f'all{y}: indicators(period: "{year}", codes: ["sex_ratio_at_birth", '
            f'"funding_per_capita", "contraceptive_prevalence"]) {INDICATOR}'
        )
    query = (
        '{ jurisdictions(under: "64", first: 20) { edges { node { code '
        + " ".join(fields)
        + " } } } }"
    )
    nodes = [e["node"] for e in data_of(client, query)["jurisdictions"]["edges"]]
    assert sorted(node["code"] for node in nodes) == sorted(LEVELS)
    reported = 0
    for node in nodes:
        code = node["code"]
        for y, year in enumerate(YEARS):
            first = index_of(year)
            for element in [*ELEMENTS, "boys"]:
                got = node[f"{element}{y}"]
                name, options = ("births", "sex=male") if element == "boys" else (element, "")
                want = brute(rows, code, name, first, options)
                assert close(got["value"], want["value"]), (code, year, element, got, want)
                assert got["reportingUnits"] == want["reportingUnits"], (code, year, element)
                assert got["expectedUnits"] == want["expectedUnits"], (code, year, element)
                assert (got["nullReason"] is None) == (got["value"] is not None), got
                reported += got["value"] is not None
            for got in [node[f"rate{y}"], *node[f"all{y}"]]:
                want = brute_indicator(rows, code, got["code"], first)
                for name, wanted in want.items():
                    assert close(got[name], wanted), (code, year, got, want)
    assert reported > 3 * len(LEVELS)  # the data reach most figures asked


def test_a_calendar_year_element_has_no_figure_in_a_statistical_year(
    world: tuple[TestClient, Rows],
) -> None:
    client, _ = world
    data = data_of(
        client,
        """{ jurisdiction(code: "640104") {
          fp: value(element: "census_population", period: "2024FP") { value nullReason }
          calendar: value(element: "census_population", period: "2024") { value }
          ratio: indicator(code: "census_sex_ratio", period: "2024FP") { value nullReason }
        } }""",
    )["jurisdiction"]
    reason = (
        "census_population is reported by year, and the statistical year 2024FP "
        "(2023-10 to 2024-09) starts inside one: ask for a calendar year"
    )
    assert data["fp"] == {"value": None, "nullReason": reason}
    assert data["ratio"] == {"value": None, "nullReason": reason}
    assert data["calendar"]["value"] > 0


@pytest.mark.parametrize("level", ["COUNTY", "VILLAGE"])
def test_the_grid_of_a_statistical_year_equals_brute_force(
    world: tuple[TestClient, Rows], level: str
) -> None:
    client, rows = world
    grid = data_of(
        client,
        """query($level: Level!) { rollup(under: "64", level: $level, period: "2024FP",
          indicators: ["birth_rate", "funding_per_capita"],
          elements: ["births", "population", "married_women", "funding"]) {
            period codes columns { code kind values numerators denominators reportingUnits
              expectedUnits } } }""",
        level=level,
    )["rollup"]
    assert grid["period"] == "2024FP"
    assert grid["codes"] == [code for code, at in LEVELS.items() if at == level.lower()]
    first = index_of("2024FP")
    for column in grid["columns"]:
        for row, code in enumerate(grid["codes"]):
            if column["kind"] == "INDICATOR":
                want = brute_indicator(rows, code, column["code"], first)
                assert close(column["numerators"][row], want["numerator"]), (code, column)
                assert close(column["denominators"][row], want["denominator"]), (code, column)
            else:
                want = brute(rows, code, column["code"], first)
                assert column["reportingUnits"][row] == want["reportingUnits"], (code, column)
                assert column["expectedUnits"][row] == want["expectedUnits"], (code, column)
            assert close(column["values"][row], want["value"]), (code, column["code"])


def test_a_series_of_statistical_years_steps_by_a_year(world: tuple[TestClient, Rows]) -> None:
    client, rows = world
    series = data_of(
        client,
        """{ series(code: "6401", indicator: "birth_rate", from: "2023FP", to: "2025FP") {
          periods values numerators denominators } }""",
    )["series"]
    assert series["periods"] == YEARS
    for year, value, numerator in zip(YEARS, series["values"], series["numerators"], strict=True):
        want = brute_indicator(rows, "6401", "birth_rate", index_of(year))
        assert close(value, want["value"]) and close(numerator, want["numerator"]), year
    assert all(value is not None for value in series["values"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            '{ series(code: "64", indicator: "birth_rate", from: "2023", to: "2025FP") '
            "{ periods } }",
            "from, to: 2023 is a year and 2025FP a statistical year; give two periods of one type",
        ),
        (
            '{ jurisdiction(code: "64") { value(element: "births", period: " 2024FP") '
            "{ value } } }",
            "period: ' 2024FP' is not a period: write a year (2024), a quarter (2024-Q1), "
            "a month (2024-03) or a statistical year (2024FP)",
        ),
        (
            '{ rollup(under: "64", level: COUNTY, period: "2024fp", elements: ["births"]) '
            "{ codes } }",
            "period: '2024fp' is not a period",
        ),
    ],
)
def test_a_period_that_is_not_one_is_refused(
    world: tuple[TestClient, Rows], query: str, message: str
) -> None:
    client, _ = world
    body = graphql(client, query)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith(message), error["message"]


def test_nobody_reports_for_a_statistical_year(world: tuple[TestClient, Rows]) -> None:
    client, _ = world
    answer = data_of(
        client,
        """mutation { submitValues(reason: "a year's births", input: [{jurisdiction:
          "640104001001", element: "births", period: "2024FP",
          disaggregation: "sex=male;parity=1", value: 3}]) { ok errors { message } } }""",
    )["submitValues"]
    assert not answer["ok"]
    assert "'2024FP' is a statistical year" in answer["errors"][0]["message"]


def _load_with_start(url: str, folder: Path, starts: int) -> dict[str, Any]:
    shipped = shipped_data(DEFAULT_CATALOGUE).read_text(encoding="utf-8")
    changed = shipped.replace("statistical_year_starts = 10", f"statistical_year_starts = {starts}")
    assert changed != shipped
    path = folder / f"catalogue-{starts}.toml"
    path.write_text(changed, encoding="utf-8")
    loaded = quhua("catalogue", "load", str(path), "--json", url=url)
    assert loaded.exit_code == 0, loaded.output
    report: dict[str, Any] = json.loads(loaded.stdout)
    return report


@pytest.mark.parametrize("starts", [4, 11])
def test_a_catalogue_with_another_first_month(
    template: tuple[str, Path, str], tmp_path: Path, starts: int
) -> None:
    url, _, token = template
    with cloned_database(url, tmp_path) as copy:
        report = _load_with_start(copy, tmp_path, starts)
        # The values are monthly: a new first month re-reads none, and rebuilds nothing.
        assert report["updated"] == {"settings": 1} and report["rebuilt"] == {}
        rows = _stored(copy)
        first = index_of("2024FP", starts)
        with client_for(copy, token) as client:
            data = data_of(
                client,
                """{ jurisdiction(code: "64") {
                  births: value(element: "births", period: "2024FP") { value reportingUnits }
                  population: value(element: "population", period: "2024FP") { value }
                  funding: value(element: "funding", period: "2024FP") { value nullReason }
                } }""",
            )["jurisdiction"]
            grid = data_of(
                client,
                """{ rollup(under: "64", level: TOWNSHIP, period: "2024FP",
                  elements: ["married_women"]) { codes columns { values } } }""",
            )["rollup"]
            shown = data_of(client, "{ catalogue { statisticalYearStarts } }")["catalogue"]
        assert shown == {"statisticalYearStarts": starts}
        assert close(data["births"]["value"], brute(rows, "64", "births", first)["value"])
        assert (
            data["births"]["reportingUnits"] == brute(rows, "64", "births", first)["reportingUnits"]
        )
        assert close(data["population"]["value"], brute(rows, "64", "population", first)["value"])
        (column,) = grid["columns"]
        for code, value in zip(grid["codes"], column["values"], strict=True):
            assert close(value, brute(rows, code, "married_women", first)["value"]), code
        if starts == 4:  # quarters fit whole into a year from April
            assert close(data["funding"]["value"], brute(rows, "64", "funding", first)["value"])
            assert data["funding"]["value"] is not None
        else:
            assert data["funding"] == {
                "value": None,
                "nullReason": "funding is reported by quarter, and the statistical year "
                "2024FP (2023-11 to 2024-10) starts inside one: ask for a calendar quarter "
                "or year",
            }


def test_the_migration_stores_october_and_goes_back(empty_url: str) -> None:
    engine = sync_engine(empty_url)
    try:
        with engine.begin() as connection:
            migrate.upgrade(connection, "0011")
            migrate.upgrade(connection)
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT * FROM catalogue_settings")).all()
            assert [tuple(row) for row in stored] == [(1, 10)]
        with engine.begin() as connection:
            migrate.downgrade(connection, "0011")
        with engine.connect() as connection:
            assert "catalogue_settings" not in inspect(connection).get_table_names()
    finally:
        engine.dispose()


def test_a_units_values_of_a_statistical_year_are_those_of_its_months(
    world: tuple[TestClient, Rows],
) -> None:
    client, _ = world
    query = (
        "query($c: String!, $p: String!) "
        "{ jurisdiction(code: $c) { values(period: $p) { period value } } }"
    )
    months = [f"2023-{m:02d}" for m in (10, 11, 12)] + [f"2024-{m:02d}" for m in range(1, 10)]
    found = 0
    for code in LEVELS:
        year = data_of(client, query, c=code, p="2024FP")["jurisdiction"]["values"]
        by_month = [
            value
            for month in months
            for value in data_of(client, query, c=code, p=month)["jurisdiction"]["values"]
        ]
        assert sorted(map(str, year)) == sorted(map(str, by_month)), code
        found += len(year)
    assert found > 0
