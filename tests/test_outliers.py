"""Outliers through GraphQL: each method and severity triggered by data built for it, normal
data left alone, MAD 0, seasons, roll-ups above the villages, pages, statements and scope."""

from __future__ import annotations

import csv
import statistics
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from indicators.quality.scores import MAD_SCALE, MEAN_ABSOLUTE_DEVIATION_SCALE
from quhua.demo import shipped_data
from tests.cli import quhua
from tests.conftest import StatementCounter, client_for, data_of, graphql
from tests.databases import NINGXIA, issue_token, ningxia_world

COUNTY = "640221"
TOWNSHIP = "640221100"  # 41 villages
SECOND = "640221101"  # its neighbour, where two villages alone report
PERIOD = "2024-01"
HISTORY = [f"{year}-{month:02d}" for year in (2022, 2023) for month in range(1, 13)]
ALTERNATING = [8 if i % 2 else 12 for i in range(24)]  # mean 10, sample SD 2.04, median 10, MAD 2


def villages_of(township: str) -> list[str]:
    with shipped_data(NINGXIA).open(encoding="utf-8") as file:
        return sorted(r["code"] for r in csv.DictReader(file) if r["parent_code"] == township)


VILLAGES = villages_of(TOWNSHIP)
NORMAL, Z_MODERATE, Z_EXTREME, MOD_MODERATE, MOD_EXTREME = VILLAGES[:5]
MAD_ZERO, CONSTANT, SHORT, SEASON_HIGH, SEASON_LOW, BY_SEX = VILLAGES[5:11]
PAIR = villages_of(SECOND)[:2]
# Deaths in the month scored, each against its village's 24 earlier months.
CURRENT = {
    NORMAL: 10,
    Z_MODERATE: 15,  # z 2.45; modified z 1.69
    Z_EXTREME: 17,  # z 3.43; modified z 2.36
    MOD_MODERATE: 21,  # modified z 3.71
    MOD_EXTREME: 26,  # modified z 5.40
    MAD_ZERO: 12,
    CONSTANT: 11,
    SHORT: 500,
    SEASON_HIGH: 30,
    SEASON_LOW: 5,
}


def rows() -> Iterator[tuple[str, str, str, str, str]]:
    for village in (NORMAL, Z_MODERATE, Z_EXTREME, MOD_MODERATE, MOD_EXTREME, *PAIR):
        for month, value in zip(HISTORY, ALTERNATING, strict=True):
            yield village, "deaths", month, str(value), ""
    # 23 months of 10 and one of 14: MAD 0, the mean absolute deviation 1/6.
    for index, month in enumerate(HISTORY):
        yield MAD_ZERO, "deaths", month, "14" if index == 5 else "10", ""
        yield CONSTANT, "deaths", month, "10", ""
    for month in HISTORY[-5:]:
        yield SHORT, "deaths", month, "10", ""
    # Every January 30 or so, other months 5: seasonal.
    for village in (SEASON_HIGH, SEASON_LOW):
        for year, value in zip(range(2019, 2024), (30, 29, 31, 30, 30), strict=True):
            yield village, "deaths", f"{year}-01", str(value), ""
        for month in HISTORY:
            if not month.endswith("-01"):
                yield village, "deaths", month, "5", ""
    for month, value in zip(HISTORY, ALTERNATING, strict=True):
        yield BY_SEX, "births", month, str(value), "sex=male;parity=1"
        yield BY_SEX, "births", month, "3", "sex=female;parity=1"
    yield BY_SEX, "births", PERIOD, "26", "sex=male;parity=1"
    yield BY_SEX, "births", PERIOD, "3", "sex=female;parity=1"
    for village, value in CURRENT.items():
        yield village, "deaths", PERIOD, str(value), ""
    for village in PAIR:
        yield village, "deaths", PERIOD, "26", ""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, TestClient]]:
    folder = tmp_path_factory.mktemp("outliers")
    with ningxia_world(str(request.param), folder, "outlier-admin") as (url, token):
        path = folder / "values.csv"
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(("jurisdiction", "element", "period", "value", "disaggregation"))
            writer.writerows(rows())
        imported = quhua("values", "import", str(path), "--reason", "history", url=url)
        assert imported.exit_code == 0, imported.stdout
        with client_for(url, token) as client:
            yield url, client


OUTLIERS = """query($under: String!, $period: String!, $level: Level, $element: String,
  $method: OutlierMethod, $severity: OutlierSeverity, $first: Int, $after: String) {
  outliers(under: $under, period: $period, level: $level, element: $element, method: $method,
           severity: $severity, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { unit { code } element disaggregation period method value score
      severity threshold historyPoints historyFrom historyTo mean standardDeviation median
      medianAbsoluteDeviation meanAbsoluteDeviation spread } } } }"""


def found(client: TestClient, **arguments: Any) -> dict[str, dict[str, Any]]:
    """The outliers asked, by unit code (each unit has one element here, but BY_SEX)."""
    data = data_of(client, OUTLIERS, period=PERIOD, **arguments)["outliers"]
    nodes = [edge["node"] for edge in data["edges"]]
    assert data["totalCount"] == len(nodes)
    return {node["unit"]["code"]: node for node in nodes}


def test_z_scores_against_the_earlier_months(world: tuple[str, TestClient]) -> None:
    _, client = world
    by_unit = found(client, under=TOWNSHIP, element="deaths", method="Z_SCORE")
    assert set(by_unit) == {Z_MODERATE, Z_EXTREME, MOD_MODERATE, MOD_EXTREME, MAD_ZERO, SEASON_HIGH}
    mean, sd = statistics.fmean(ALTERNATING), statistics.stdev(ALTERNATING)
    moderate = by_unit[Z_MODERATE]
    assert moderate["severity"] == "MODERATE"
    assert moderate["threshold"] == 2
    assert moderate["value"] == 15
    assert moderate["mean"] == pytest.approx(mean)
    assert moderate["standardDeviation"] == pytest.approx(sd)
    assert moderate["score"] == pytest.approx((15 - mean) / sd)
    assert moderate["median"] is None
    assert moderate["spread"] == "STANDARD_DEVIATION"
    assert (moderate["historyPoints"], moderate["historyFrom"], moderate["historyTo"]) == (
        24,
        "2022-01",
        "2023-12",
    )
    assert by_unit[Z_EXTREME]["severity"] == "EXTREME"
    assert by_unit[Z_EXTREME]["threshold"] == 3
    # Extreme only.
    extreme = found(client, under=TOWNSHIP, element="deaths", method="Z_SCORE", severity="EXTREME")
    assert NORMAL not in extreme
    assert Z_MODERATE not in extreme
    assert Z_EXTREME in extreme


def test_modified_z_scores_by_median_and_mad(world: tuple[str, TestClient]) -> None:
    _, client = world
    by_unit = found(client, under=TOWNSHIP, element="deaths")  # the default method
    assert set(by_unit) == {MOD_MODERATE, MOD_EXTREME, MAD_ZERO, SEASON_HIGH}
    moderate, extreme = by_unit[MOD_MODERATE], by_unit[MOD_EXTREME]
    assert moderate["method"] == "MODIFIED_Z_SCORE"
    assert (moderate["median"], moderate["medianAbsoluteDeviation"]) == (10, 2)
    assert moderate["score"] == pytest.approx(MAD_SCALE * (21 - 10) / 2)
    assert (moderate["severity"], moderate["threshold"]) == ("MODERATE", 3.5)
    assert (extreme["severity"], extreme["threshold"]) == ("EXTREME", 5)
    assert extreme["score"] == pytest.approx(MAD_SCALE * 16 / 2)
    assert extreme["mean"] is None
    assert extreme["meanAbsoluteDeviation"] is None
    assert extreme["spread"] == "MEDIAN_ABSOLUTE_DEVIATION"


def test_mad_zero_falls_back_to_the_mean_absolute_deviation(world: tuple[str, TestClient]) -> None:
    _, client = world
    by_unit = found(client, under=TOWNSHIP, element="deaths")
    flat = by_unit[MAD_ZERO]
    assert flat["medianAbsoluteDeviation"] == 0
    assert flat["spread"] == "MEAN_ABSOLUTE_DEVIATION"
    assert flat["meanAbsoluteDeviation"] == pytest.approx(4 / 24)
    assert flat["score"] == pytest.approx((12 - 10) / (MEAN_ABSOLUTE_DEVIATION_SCALE * 4 / 24))
    assert flat["severity"] == "EXTREME"
    # A history of one value repeated scores nothing, by either method; nor does a short one.
    for method in ("Z_SCORE", "MODIFIED_Z_SCORE"):
        every = found(client, under=TOWNSHIP, element="deaths", method=method)
        assert CONSTANT not in every
        assert SHORT not in every
        assert NORMAL not in every


def test_seasonal_methods_compare_the_same_month_of_earlier_years(
    world: tuple[str, TestClient],
) -> None:
    _, client = world
    # January's 30 is far from the months before it, but not from earlier Januaries.
    consecutive = found(client, under=TOWNSHIP, element="deaths")
    assert SEASON_HIGH in consecutive
    assert SEASON_LOW not in consecutive
    seasonal = found(client, under=TOWNSHIP, element="deaths", method="SEASONAL_MODIFIED_Z_SCORE")
    assert set(seasonal) == {SEASON_LOW}
    low = seasonal[SEASON_LOW]
    assert (low["historyPoints"], low["historyFrom"], low["historyTo"]) == (5, "2019-01", "2023-01")
    assert (low["median"], low["medianAbsoluteDeviation"]) == (30, 0)
    assert low["severity"] == "EXTREME"
    z_seasonal = found(client, under=TOWNSHIP, element="deaths", method="SEASONAL_Z_SCORE")
    assert set(z_seasonal) == {SEASON_LOW}
    assert z_seasonal[SEASON_LOW]["mean"] == pytest.approx(30)


def test_every_element_and_option_combination(world: tuple[str, TestClient]) -> None:
    _, client = world
    data = data_of(client, OUTLIERS, under=TOWNSHIP, period=PERIOD)["outliers"]
    births = [e["node"] for e in data["edges"] if e["node"]["element"] == "births"]
    assert [(b["unit"]["code"], b["disaggregation"], b["value"]) for b in births] == [
        (BY_SEX, "parity=1;sex=male", 26)
    ]


def test_units_above_are_scored_on_their_roll_up(world: tuple[str, TestClient]) -> None:
    _, client = world
    by_unit = found(client, under=COUNTY, level="TOWNSHIP", element="deaths")
    second = by_unit[SECOND]
    # Two villages in step: the township's history is 16 / 24, its January 52.
    assert second["value"] == 52
    assert (second["median"], second["medianAbsoluteDeviation"]) == (20, 4)
    assert second["severity"] == "EXTREME"
    county = found(client, under=COUNTY, level="COUNTY", element="deaths", method="Z_SCORE")
    assert set(county) <= {COUNTY}


def test_pages_follow_one_another(world: tuple[str, TestClient]) -> None:
    _, client = world
    every = data_of(client, OUTLIERS, under=COUNTY, period=PERIOD, method="Z_SCORE")["outliers"]
    expected = [e["node"] for e in every["edges"]]
    assert len(expected) >= 6
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = data_of(
            client, OUTLIERS, under=COUNTY, period=PERIOD, method="Z_SCORE", first=2, after=after
        )["outliers"]
        seen += [e["node"] for e in page["edges"]]
        assert page["totalCount"] == len(expected)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected
    codes = [(n["unit"]["code"], n["element"], n["disaggregation"]) for n in seen]
    assert codes == sorted(codes)


def test_history_is_read_in_a_few_statements(
    world: tuple[str, TestClient], sql_statements: StatementCounter
) -> None:
    """Forty villages, a county's, the province's (three batches of units) alike."""
    _, client = world
    query = """query($under: String!, $level: Level) { outliers(under: $under,
      period: "2024-01", level: $level, first: 1000) { edges { node { value } } } }"""
    counts = {}
    for under, level in (
        (TOWNSHIP, "VILLAGE"),
        (COUNTY, "VILLAGE"),
        ("64", "VILLAGE"),
        (COUNTY, "TOWNSHIP"),
        ("64", "TOWNSHIP"),
    ):
        before = sql_statements.count
        data_of(client, query, under=under, level=level)
        counts[under, level] = sql_statements.count - before
    assert counts[TOWNSHIP, "VILLAGE"] == counts[COUNTY, "VILLAGE"]
    # 2,912 villages: two more batches of a thousand, each a page of units and one read.
    assert counts["64", "VILLAGE"] == counts[COUNTY, "VILLAGE"] + 4
    assert counts["64", "TOWNSHIP"] == counts[COUNTY, "TOWNSHIP"]
    assert max(counts.values()) <= 15


def test_bad_arguments(world: tuple[str, TestClient]) -> None:
    _, client = world
    cases = [
        ({"under": TOWNSHIP, "period": "2024FP"}, "statistical year"),
        ({"under": TOWNSHIP, "period": "2024-13"}, "period"),
        ({"under": TOWNSHIP, "period": "2024", "method": "SEASONAL_Z_SCORE"}, "is a year"),
        ({"under": TOWNSHIP, "period": PERIOD, "element": "funding"}, "quarter"),
        ({"under": TOWNSHIP, "period": PERIOD, "element": "census_population"}, "year"),
        ({"under": TOWNSHIP, "period": PERIOD, "element": "nope"}, "unknown element"),
        ({"under": TOWNSHIP, "period": PERIOD, "level": "COUNTY"}, "lies above"),
        ({"under": TOWNSHIP, "period": PERIOD, "after": "bm9wZQ=="}, "not a cursor"),
        ({"under": TOWNSHIP, "period": PERIOD, "first": 1001}, "out of range"),
    ]
    for arguments, message in cases:
        errors = graphql(client, OUTLIERS, **arguments)["errors"]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", arguments
        assert message in errors[0]["message"], (arguments, errors[0]["message"])
    missing = graphql(client, OUTLIERS, under="640221999", period=PERIOD)["errors"]
    assert missing[0]["extensions"]["code"] == "NOT_FOUND"


def codes_of(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def test_scoped_to_the_callers_subtree(world: tuple[str, TestClient]) -> None:
    url, _ = world
    query = """query($under: String!, $level: Level) { outliers(under: $under, period:
      "2024-01", level: $level) { edges { node { unit { code } value } } } }"""
    with client_for(url, issue_token(url, "second-viewer", "viewer", SECOND)) as client:
        mine = data_of(client, query, under=SECOND, level="TOWNSHIP")["outliers"]["edges"]
        assert [e["node"]["unit"]["code"] for e in mine] == [SECOND]
        assert codes_of(graphql(client, query, under=TOWNSHIP)) == ["FORBIDDEN"]
        assert codes_of(graphql(client, query, under=COUNTY, level="TOWNSHIP")) == ["FORBIDDEN"]
    system = issue_token(url, "county-system", "aggregate_reader", COUNTY)
    with client_for(url, system) as client:
        # Townships' figures are aggregates; villages' are their reports.
        above = data_of(client, query, under=COUNTY, level="TOWNSHIP")["outliers"]["edges"]
        assert SECOND in [e["node"]["unit"]["code"] for e in above]
        assert codes_of(graphql(client, query, under=COUNTY)) == ["FORBIDDEN"]
    with client_for(url) as anonymous:
        assert codes_of(graphql(anonymous, query, under=COUNTY)) == ["UNAUTHENTICATED"]


def test_the_command_prints_a_table(world: tuple[str, TestClient]) -> None:
    url, client = world
    printed = quhua(
        "outliers", "--under", TOWNSHIP, "--period", PERIOD, "--element", "deaths", url=url
    )
    assert printed.exit_code == 0, printed.stderr
    header, *lines = printed.stdout.splitlines()
    assert header.split("\t")[:3] == ["unit", "element", "disaggregation"]
    rows = [line.split("\t") for line in lines]
    assert [row[0] for row in rows] == sorted(found(client, under=TOWNSHIP, element="deaths"))
    extreme = next(row for row in rows if row[0] == MOD_EXTREME)
    assert extreme[3:7] == [PERIOD, "26", "5.40", "extreme"]
    seasonal = quhua(
        "outliers", "--under", COUNTY, "--period", PERIOD, "--method", "seasonal_z_score", url=url
    )
    assert [line.split("\t")[0] for line in seasonal.stdout.splitlines()[1:]] == [SEASON_LOW]
    wrong = quhua("outliers", "--under", TOWNSHIP, "--period", "2024-13", url=url)
    assert wrong.exit_code == 1
    assert "not a period" in wrong.stderr
