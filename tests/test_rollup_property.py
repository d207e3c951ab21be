"""Every aggregate and indicator equals a brute-force recomputation from the raw values.

Each example grows a random tree under a new province (loaded by `quhua divisions load`),
then applies random submits, corrections, deletions and file imports through the product,
and after every write compares what GraphQL answers for every unit (aggregates, indicators,
the grid and a series) with sums computed here from data_values, read with plain SQL.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from core.db.engine import sync_engine
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.cli import quhua
from tests.conftest import client_for, data_of
from tests.databases import cloned_database, fresh_database, issue_token, upgrade

# element → (time aggregation, months per stored period, reporting levels, categories)
ELEMENTS: dict[str, tuple[str, int, frozenset[str], dict[str, tuple[str, ...]]]] = {
    "births": (
        "sum",
        1,
        frozenset({"village"}),
        {"parity": ("1", "2", "3plus"), "sex": ("female", "male")},
    ),
    "population": ("average", 1, frozenset({"village"}), {"sex": ("female", "male")}),
    "married_women": ("last", 1, frozenset({"village"}), {}),
    "contraceptive_users": (
        "last",
        1,
        frozenset({"village"}),
        {"method": ("condom", "implant", "iud", "other", "pill", "sterilization")},
    ),
    "funding": ("sum", 3, frozenset({"county", "township"}), {}),
}
# indicator → (numerator (element, options), denominator, factor, annualize)
INDICATORS = {
    "birth_rate": (("births", ""), ("population", ""), 1000, True),
    "sex_ratio_at_birth": (("births", "sex=male"), ("births", "sex=female"), 100, False),
    "contraceptive_prevalence": (("contraceptive_users", ""), ("married_women", ""), 100, False),
    "funding_per_capita": (("funding", ""), ("population", ""), 1, True),
}
MONTHS = [f"2023-{m:02d}" for m in (11, 12)] + [f"2024-{m:02d}" for m in range(1, 7)]
QUARTERS = ["2023-Q4", "2024-Q1", "2024-Q2"]
# 2024FP, the statistical year 2023-10 … 2024-09 (the shipped catalogue's starts in
# October), holds every month and quarter written.
ASKED = [*MONTHS, *QUARTERS, "2023", "2024", "2024FP"]
STATISTICAL_YEAR_STARTS = 10
LEVELS = ("province", "city", "county", "township", "village")
CODE_LENGTHS = (2, 4, 6, 9, 12)


@dataclass(frozen=True)
class Unit:
    code: str
    level: str


def _span(period: str) -> tuple[int, int]:
    """(first month index, months) of 2024, 2024-Q1, 2024-03 or 2024FP."""
    year = int(period[:4])
    if period.endswith("FP"):
        return (year - 1) * 12 + STATISTICAL_YEAR_STARTS - 1, 12
    if len(period) == 4:
        return year * 12, 12
    if "Q" in period:
        return year * 12 + (int(period[-1]) - 1) * 3, 3
    return year * 12 + int(period[5:]) - 1, 1


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


class BruteForce:
    """Aggregates straight from the raw rows, by the definitions and nothing else."""

    def __init__(self, units: list[Unit], rows: list[tuple[str, str, str, int, float]]) -> None:
        self.units = units
        # (unit, element) → combo key → month index → value
        self.values: dict[tuple[str, str], dict[str, dict[int, float]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        for code, element, key, month, value in rows:
            self.values[code, element][key][month] = value

    def _below(self, code: str) -> list[Unit]:
        return [u for u in self.units if u.code.startswith(code)]

    def aggregate(
        self, code: str, element: str, period: str, options: str = ""
    ) -> tuple[float | None, int, int]:
        aggregation, length, levels, _ = ELEMENTS[element]
        start, months = _span(period)
        below = self._below(code)
        expected = sum(1 for u in below if u.level in levels)
        wanted = set(filter(None, options.split(";")))
        total, reporting = 0.0, 0
        for unit in below:
            reported = False
            for key, series in self.values.get((unit.code, element), {}).items():
                inside = sorted(m for m in series if start <= m and m + length <= start + months)
                if not inside:
                    continue
                reported = True
                if not wanted <= set(key.split(";")):
                    continue
                if aggregation == "sum":
                    total += sum(series[m] for m in inside)
                elif aggregation == "average":
                    total += sum(series[m] for m in inside) / len(inside)
                else:
                    total += series[inside[-1]]
            reporting += reported
        # A stored period longer than the asked one, or sticking out of it, has no figure.
        if months < length or start % length or reporting == 0:
            return None, reporting, expected
        return total, reporting, expected

    def indicator(self, code: str, indicator: str, period: str) -> dict[str, Any]:
        (top, top_options), (bottom, bottom_options), factor, annualize = INDICATORS[indicator]
        numerator, top_reporting, top_expected = self.aggregate(code, top, period, top_options)
        denominator, bottom_reporting, bottom_expected = self.aggregate(
            code, bottom, period, bottom_options
        )

        def weakness(value: float | None, reporting: int, expected: int) -> tuple[Any, ...]:
            return (value is None, -(reporting / expected if expected else 0.0), -reporting)

        # The figure is as complete as its least complete side.
        reporting, expected = top_reporting, top_expected
        if weakness(denominator, bottom_reporting, bottom_expected) > weakness(
            numerator, top_reporting, top_expected
        ):
            reporting, expected = bottom_reporting, bottom_expected
        value = None
        if numerator is not None and denominator:
            months = _span(period)[1]
            value = numerator / denominator * factor * (12 / months if annualize else 1)
        return {
            "value": value,
            "numerator": numerator,
            "denominator": denominator,
            "reportingUnits": reporting,
            "expectedUnits": expected,
            "numeratorReportingUnits": top_reporting,
            "denominatorReportingUnits": bottom_reporting,
        }


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, str]]:
    """(code suffix, level) of a random tree, province first; codes nest as the NBS's do."""
    nodes = [("", LEVELS[0])]
    frontier = [""]
    for depth in range(1, len(LEVELS)):
        width = CODE_LENGTHS[depth] - CODE_LENGTHS[depth - 1]
        below = []
        for parent in frontier:
            for index in range(1, draw(st.integers(1, 2 if depth < 4 else 3)) + 1):
                child = parent + str(index).zfill(width)
                nodes.append((child, LEVELS[depth]))
                below.append(child)
        frontier = below
    return nodes


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def property_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """A database with the default catalogue, which each example copies."""
    folder = tmp_path_factory.mktemp("rollups")
    with fresh_database(request.param, folder) as url:
        upgrade(url)
        loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
        assert loaded.exit_code == 0, loaded.stderr
        yield url, folder


def _new_province(url: str, folder: Path, shape: list[tuple[str, str]]) -> list[Unit]:
    province = "64"
    units = [Unit(province + suffix, level) for suffix, level in shape]
    path = folder / f"tree-{province}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "level", "parent_code"])
        for unit in units:
            parent = next((p for p in reversed(CODE_LENGTHS) if p < len(unit.code)), None)
            writer.writerow(
                [unit.code, f"单位{unit.code}", unit.level, unit.code[:parent] if parent else ""]
            )
    loaded = quhua("divisions", "load", str(path), url=url)
    assert loaded.exit_code == 0, loaded.stdout
    return units


def _rows(data: st.DataObject, units: list[Unit], count: int) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    # Often one month, as units report: its quarter for quarterly elements.
    month = data.draw(st.one_of(st.none(), st.sampled_from(MONTHS)), label="month")
    for _ in range(count):
        element = data.draw(st.sampled_from(sorted(ELEMENTS)))
        _, length, levels, categories = ELEMENTS[element]
        unit = data.draw(st.sampled_from([u.code for u in units if u.level in levels]))
        if month is None:
            period = data.draw(st.sampled_from(QUARTERS if length == 3 else MONTHS))
        else:
            year, number = (int(part) for part in month.split("-"))
            period = _period_label(year * 12 + number - 1, length)
        disaggregation = ";".join(
            f"{category}={data.draw(st.sampled_from(options))}"
            for category, options in sorted(categories.items())
        )
        if element == "funding":
            value = data.draw(st.integers(0, 10**6)) / 100
        else:
            value = float(data.draw(st.integers(0, 3000 if element == "population" else 40)))
        rows[unit, element, period, disaggregation] = {
            "jurisdiction": unit,
            "element": element,
            "period": period,
            "disaggregation": disaggregation,
            "value": value,
        }
    return list(rows.values())


def _stored(url: str, province: str) -> list[tuple[str, str, str, int, float]]:
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
                        "JOIN data_elements e ON e.id = c.element_id WHERE j.code LIKE :p"
                    ),
                    {"p": province + "%"},
                )
            ]
    finally:
        engine.dispose()


def _period_label(month: int, length: int) -> str:
    year, rest = divmod(month, 12)
    return f"{year}-Q{rest // 3 + 1}" if length == 3 else f"{year}-{rest + 1:02d}"


AGGREGATE = "{ value reportingUnits expectedUnits nullReason }"
INDICATOR = (
    "{ value numerator denominator reportingUnits expectedUnits nullReason"
    " numeratorReportingUnits denominatorReportingUnits }"
)
SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "property") { ok errors { message } } }"""
DELETE = """mutation($keys: [ValueKeyInput!]!) {
  deleteValues(input: $keys, reason: "property") { ok errors { message } } }"""


def _check_units(client: Any, brute: BruteForce, province: str, periods: list[str]) -> None:
    # One request per period, for every unit of the tree: a request's cost is priced by
    # the nodes it may reach (`first`), and three periods of every unit exceed the limit.
    for period in periods:
        _check_period(client, brute, province, period)


def _check_period(client: Any, brute: BruteForce, province: str, period: str) -> None:
    fields = []
    asked: list[tuple[str, tuple[str, ...]]] = []
    for e, element in enumerate(sorted(ELEMENTS)):
        fields.append(f'a{e}: value(element: "{element}", period: "{period}") {AGGREGATE}')
        asked.append((f"a{e}", ("value", element, period, "")))
    fields.append(
        f'm: value(element: "births", period: "{period}", '
        f'disaggregation: "sex=male;parity=2") {AGGREGATE}'
    )
    asked.append(("m", ("value", "births", period, "parity=2;sex=male")))
    for i, indicator in enumerate(sorted(INDICATORS)):
        fields.append(f'i{i}: indicator(code: "{indicator}", period: "{period}") {INDICATOR}')
        asked.append((f"i{i}", ("indicator", indicator, period, "")))
    query = (
        "query($under: String!, $first: Int!) { jurisdictions(under: $under, first: $first) "
        "{ edges { node { code " + " ".join(fields) + " } } } }"
    )
    found = data_of(client, query, under=province, first=len(brute.units))
    nodes = [e["node"] for e in found["jurisdictions"]["edges"]]
    assert len(nodes) == len(brute.units)
    for node in nodes:
        for alias, (kind, code, _, options) in asked:
            got = node[alias]
            if kind == "value":
                value, reporting, expected = brute.aggregate(node["code"], code, period, options)
                want = {"value": value, "reportingUnits": reporting, "expectedUnits": expected}
            else:
                want = brute.indicator(node["code"], code, period)
            for name, wanted in want.items():
                assert _close(got[name], wanted), (node["code"], alias, code, period, name, got)
            assert (got["nullReason"] is None) == (got["value"] is not None), got


def _check_grid_and_series(client: Any, brute: BruteForce, province: str, period: str) -> None:
    grid = data_of(
        client,
        """query($under: String!, $period: String!, $indicators: [String!], $elements: [String!]) {
          rollup(under: $under, level: COUNTY, period: $period, indicators: $indicators,
                 elements: $elements, first: 1000) {
            codes totalCount columns { code kind values numerators denominators
              reportingUnits expectedUnits } } }""",
        under=province,
        period=period,
        indicators=sorted(INDICATORS),
        elements=sorted(ELEMENTS),
    )["rollup"]
    counties = [u.code for u in brute.units if u.level == "county"]
    assert grid["codes"] == counties
    assert grid["totalCount"] == len(counties)
    for column in grid["columns"]:
        for row, code in enumerate(grid["codes"]):
            if column["kind"] == "INDICATOR":
                want = brute.indicator(code, column["code"], period)
            else:
                value, reporting, expected = brute.aggregate(code, column["code"], period)
                want = {"value": value, "reportingUnits": reporting, "expectedUnits": expected}
            for name, wanted in want.items():
                if name.startswith(("numeratorR", "denominatorR")):
                    continue  # a grid's columns carry the indicator's completeness only
                assert _close(
                    column[name + "s" if name in ("value", "numerator", "denominator") else name][
                        row
                    ],
                    wanted,
                ), (code, column["code"], name)
    # Statistical years when the grid was of one: a series steps by twelve months.
    steps = ["2023FP", "2024FP", "2025FP"] if period.endswith("FP") else MONTHS
    series = data_of(
        client,
        """query($code: String!, $from: String!, $to: String!) { series(code: $code,
             indicator: "birth_rate", from: $from, to: $to) { periods values reportingUnits } }""",
        code=province,
        **{"from": steps[0], "to": steps[-1]},
    )["series"]
    assert series["periods"] == steps
    for month, value, reporting in zip(
        steps, series["values"], series["reportingUnits"], strict=True
    ):
        want = brute.indicator(province, "birth_rate", month)
        assert _close(value, want["value"]) and reporting == want["reportingUnits"], month


def _brute_force_property(examples: int) -> Callable[..., None]:
    """The property with `examples` random trees and writes."""

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(shape=trees(), data=st.data())
    def check(
        property_world: tuple[str, Path], shape: list[tuple[str, str]], data: st.DataObject
    ) -> None:
        template, folder = property_world
        with cloned_database(template, folder) as url:
            _check_writes(url, folder, shape, data)

    return check


test_aggregates_equal_brute_force = _brute_force_property(6)
# Five times the random examples, in CI's bounded scale step.
test_aggregates_equal_brute_force_thoroughly = pytest.mark.scale(_brute_force_property(30))


def _check_writes(
    url: str, folder: Path, shape: list[tuple[str, str]], data: st.DataObject
) -> None:
    units = _new_province(url, folder, shape)
    province = units[0].code
    token = issue_token(url, "admin", "admin", province)
    # The property checks figures, whatever a query asking for all of them costs.
    with client_for(url, token, max_query_cost=10**9) as client:
        for step in range(data.draw(st.integers(1, 4), label="writes")):
            kind = data.draw(st.sampled_from(["submit", "import", "delete"]))
            if kind == "submit":
                rows = _rows(data, units, data.draw(st.integers(1, 12)))
                assert data_of(client, SUBMIT, rows=rows)["submitValues"]["ok"]
            elif kind == "import":
                rows = _rows(data, units, data.draw(st.integers(1, 30)))
                path = folder / f"values-{province}-{step}.csv"
                with path.open("w", newline="", encoding="utf-8") as handle:
                    writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows(rows)
                imported = quhua("values", "import", str(path), url=url)
                assert imported.exit_code == 0, imported.stdout
            else:
                # Drawn before looking, so that a replay draws the same whatever is stored.
                picks = data.draw(st.lists(st.integers(0, 10**6), max_size=4))
                stored = _stored(url, province)
                chosen = {stored[pick % len(stored)] for pick in picks} if stored else set()
                keys = [
                    {
                        "jurisdiction": code,
                        "element": element,
                        "period": _period_label(month, ELEMENTS[element][1]),
                        "disaggregation": key,
                    }
                    for code, element, key, month, _ in sorted(chosen)
                ]
                if keys:
                    assert data_of(client, DELETE, keys=keys)["deleteValues"]["ok"]
            brute = BruteForce(units, _stored(url, province))
            periods = data.draw(st.lists(st.sampled_from(ASKED), min_size=1, max_size=3))
            _check_units(client, brute, province, periods)
            _check_grid_and_series(client, brute, province, periods[0])
    # The store as a whole, not only what GraphQL was asked, equals its values.
    verified = quhua("rollups", "verify", "--under", province, url=url)
    assert verified.exit_code == 0, verified.output
