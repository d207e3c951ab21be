"""Assessment arithmetic: margins, weighted scores, grades and vetoes; and, through HTTP, the
actual figures of an assessment equal a brute-force recomputation from the raw values."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from indicators.assessment import (
    Actual,
    Basis,
    Grade,
    TargetSpec,
    Thresholds,
    assess,
    judge,
)
from indicators.periods import Period
from indicators.targets.models import Bound
from tests.conftest import client_for, data_of
from tests.databases import BACKENDS, ningxia_world

YEAR = Period.parse("2024")


def spec(bound: Bound, value: float, *, weight: float = 1, veto: bool = False) -> TargetSpec:
    return TargetSpec("births", bound, value, weight, veto)


def test_margins_are_positive_on_the_good_side_of_the_bound() -> None:
    assert judge(spec(Bound.AT_MOST, 10), Actual(7)).margin == 3
    assert judge(spec(Bound.AT_MOST, 10), Actual(12)).margin == -2
    assert judge(spec(Bound.AT_LEAST, 95), Actual(97)).margin == 2
    assert judge(spec(Bound.AT_LEAST, 95), Actual(90)).margin == -5
    # The bound's value itself keeps the target.
    assert judge(spec(Bound.AT_MOST, 10), Actual(10)).met
    assert judge(spec(Bound.AT_LEAST, 10), Actual(10)).met
    missing = judge(spec(Bound.AT_MOST, 10), Actual(None, null_reason="no unit reported"))
    assert (missing.met, missing.margin, missing.missing) == (False, None, True)


DEFAULTS = Thresholds()


def graded(
    results: list[tuple[TargetSpec, float | None]], thresholds: Thresholds = DEFAULTS
) -> Any:
    return assess(
        YEAR,
        [s for s, _ in results],
        [Actual(a) for _, a in results],
        thresholds=thresholds,
        basis=Basis.ALL_DATA,
    )


def test_grades_follow_the_score_and_a_veto_overrides_it() -> None:
    assert graded([]) is None
    kept, broken = (
        (spec(Bound.AT_MOST, 10, weight=98), 5.0),
        (spec(Bound.AT_MOST, 1, weight=2), 5.0),
    )
    assert graded([kept]).grade is Grade.COMMENDED
    passed = graded([kept, broken])
    assert (passed.grade, passed.score) == (Grade.PASSED, 98.0)
    assert "births at most 1: 5" in passed.reason
    failed = graded([kept, (spec(Bound.AT_MOST, 1, weight=3), 5.0)])
    assert failed.grade is Grade.FAILED and failed.score == pytest.approx(9800 / 101)
    vetoed = graded([kept, (spec(Bound.AT_MOST, 1, weight=0.001, veto=True), 5.0)])
    assert vetoed.grade is Grade.VETOED and vetoed.score > 99.99
    assert vetoed.reason == "vetoed by births at most 1: 5 (score 99.99)"
    both = graded([broken, (spec(Bound.AT_MOST, 1, weight=1, veto=True), 5.0)])
    assert both.reason == (
        "vetoed by births at most 1: 5 (score 0); not met besides: births at most 1: 5"
    )
    # A veto target that is met vetoes nothing.
    assert graded([(spec(Bound.AT_MOST, 10, veto=True), 5.0)]).grade is Grade.COMMENDED
    lenient = Thresholds(commended=90, passed=50, set_at="64")
    assert graded([kept, (spec(Bound.AT_MOST, 1, weight=98), 5.0)], lenient).grade is Grade.PASSED
    assert graded([kept, broken], lenient).grade is Grade.COMMENDED


def test_weights_that_sum_to_a_threshold_reach_it_exactly() -> None:
    # 49 of 50 and 98 of 100 are both 98: no float noise below the threshold.
    for kept_weight, total in ((49, 50), (0.49, 0.5), (9.8, 10)):
        found = graded(
            [
                (spec(Bound.AT_MOST, 10, weight=kept_weight), 1.0),
                (spec(Bound.AT_MOST, 0, weight=total - kept_weight), 1.0),
            ]
        )
        assert found.grade is Grade.PASSED, (kept_weight, found.score)


# ---- the actual figures against the raw values --------------------------------------------

VILLAGES = ("640104001002", "640104001003", "640104001005")
TOWNSHIP = "640104001"
MONTHS = [f"2023-{m}" for m in ("10", "11", "12")] + [f"2024-{m:02d}" for m in range(1, 13)]
CELLS = (
    ("births", "sex=male;parity=1"),
    ("births", "sex=female;parity=1"),
    ("deaths", ""),
    ("population", "sex=male"),
    ("population", "sex=female"),
)
IN_YEAR = {"2024": [m for m in MONTHS if m.startswith("2024")], "2024FP": MONTHS[:12]}
ASSESS = """query($year: String!) { jurisdiction(code: "640104001") { assessment(year: $year) {
  score grade targets { indicator actual met margin missing } } } }"""


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("assessment")
    with (
        ningxia_world(str(request.param), folder, "assessor") as (url, token),
        client_for(url, token) as client,
    ):
        yield client


Reports = dict[tuple[str, str], tuple[int, int, int, int]]  # (village, month) → births…


def brute_force(reports: Reports, year: str) -> dict[str, float | None]:
    """births, deaths, birth rate and natural growth rate of the township, from the rows."""
    months = IN_YEAR[year]
    inside = {key: cells for key, cells in reports.items() if key[1] in months}
    if not inside:
        return dict.fromkeys(("births", "deaths", "birth_rate", "natural_growth_rate"))
    births = sum(b for b, _, _, _ in inside.values())
    deaths = sum(d for _, d, _, _ in inside.values())
    population = 0.0
    for village in VILLAGES:
        own = [cells for (v, _), cells in inside.items() if v == village]
        if own:
            # Each combo averages its own months; both sexes report the same months here.
            population += sum(m + f for _, _, m, f in own) / len(own)
    rate = births / population * 1000 if population else None
    growth = (births - deaths) / population * 1000 if population else None
    return {"births": births, "deaths": deaths, "birth_rate": rate, "natural_growth_rate": growth}


reports_strategy = st.dictionaries(
    st.tuples(st.sampled_from(VILLAGES), st.sampled_from(MONTHS)),
    st.tuples(st.integers(0, 30), st.integers(0, 20), st.integers(1, 900), st.integers(1, 900)),
    max_size=20,
)
target_strategy = st.tuples(
    st.sampled_from(["births", "deaths", "birth_rate", "natural_growth_rate"]),
    st.sampled_from(["AT_MOST", "AT_LEAST"]),
    st.floats(-5, 200, allow_nan=False).map(lambda v: round(v, 2)),
    st.sampled_from([0.5, 1, 2, 40]),
    st.booleans(),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    reports=reports_strategy,
    year=st.sampled_from(["2024", "2024FP"]),
    targets=st.lists(target_strategy, min_size=1, max_size=4, unique_by=lambda t: t[0]),
)
def test_actual_figures_equal_brute_force_from_the_raw_values(
    world: TestClient,
    reports: Reports,
    year: str,
    targets: list[tuple[str, str, float, float, bool]],
) -> None:
    client = world
    present, absent = [], []
    for village in VILLAGES:
        for month in MONTHS:
            cells = reports.get((village, month))
            for position, (element, options) in enumerate(CELLS):
                key = {"jurisdiction": village, "element": element, "period": month}
                key["disaggregation"] = options
                if cells is None:
                    absent.append(key)
                else:
                    value = (cells[0] // 2, cells[0] - cells[0] // 2, *cells[1:])[position]
                    present.append({**key, "value": value})
    written = data_of(
        client,
        """mutation($present: [ValueInput!]!, $absent: [ValueKeyInput!]!) {
          a: deleteValues(input: $absent, reason: "example") { ok }
          b: submitValues(input: $present, reason: "example") { ok } }""",
        present=present,
        absent=absent,
    )
    assert written["a"]["ok"] and written["b"]["ok"]
    rows = [
        {
            "jurisdiction": TOWNSHIP,
            "year": year,
            "indicator": code,
            "bound": bound,
            "value": value,
            "weight": weight,
            "veto": veto,
        }
        for code, bound, value, weight, veto in targets
    ]
    stored = data_of(
        client,
        """query($year: String!) { jurisdiction(code: "640104001") {
          targets(year: $year) { indicator } } }""",
        year=year,
    )["jurisdiction"]["targets"]
    removed = [
        {"jurisdiction": TOWNSHIP, "year": year, "indicator": t["indicator"]} for t in stored
    ]
    changed = data_of(
        client,
        """mutation($removed: [TargetKeyInput!]!, $rows: [TargetInput!]!) {
          r: removeTargets(input: $removed, reason: "example") { ok }
          s: setTargets(input: $rows, reason: "example") { ok errors { message } } }""",
        removed=removed,
        rows=rows,
    )
    assert changed["r"]["ok"] and changed["s"]["ok"], changed
    found = data_of(client, ASSESS, year=year)["jurisdiction"]["assessment"]
    expected = brute_force(reports, year)
    kept_weight = 0.0
    vetoed = False
    for (code, bound, value, weight, veto), result in zip(
        sorted(targets), sorted(found["targets"], key=lambda t: t["indicator"]), strict=True
    ):
        assert result["indicator"] == code
        actual = expected[code]
        if actual is None:
            assert result["actual"] is None and result["missing"] and not result["met"]
        else:
            assert math.isclose(result["actual"], actual, rel_tol=1e-9, abs_tol=1e-9), code
            margin = value - actual if bound == "AT_MOST" else actual - value
            assert math.isclose(result["margin"], margin, rel_tol=1e-9, abs_tol=1e-9)
            assert result["met"] == (result["margin"] >= 0)
        kept_weight += weight if result["met"] else 0
        vetoed |= veto and not result["met"]
    score = 100 * kept_weight / sum(t[3] for t in targets)
    assert math.isclose(found["score"], score, abs_tol=1e-6)
    if vetoed:
        assert found["grade"] == "VETOED"
    else:
        grade = "COMMENDED" if score >= 100 else "PASSED" if score >= 98 else "FAILED"
        assert found["grade"] == grade
