"""Rolling the 2020 census up Ningxia's real tree gives back the published province totals.

Everything goes through the product: `quhua divisions load` for the tree, `quhua catalogue
load` for the default catalogue, `quhua values import` for the census table (turned into
the values format: one row per county and sex), and GraphQL for the roll-up.
"""

from __future__ import annotations

import csv
from pathlib import Path

from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.cli import quhua
from tests.conftest import client_for, data_of
from tests.databases import NINGXIA, issue_token

CENSUS = "census2020_ningxia_county.csv"
PUBLISHED = {"population": 7_202_654, "male": 3_668_938, "female": 3_533_716}
QUERY = """query {
  jurisdiction(code: "64") {
    total: value(element: "census_population", period: "2020") {
      value reportingUnits expectedUnits }
    male: value(element: "census_population", period: "2020", disaggregation: "sex=male") {
      value }
    female: value(element: "census_population", period: "2020", disaggregation: "sex=female") {
      value }
    ratio: indicator(code: "census_sex_ratio", period: "2020") { value numerator denominator }
  }
  rollup(under: "64", level: CITY, period: "2020", elements: ["census_population"]) {
    codes columns { values }
  }
}"""


def test_census_rolls_up_to_the_published_totals(migrated_url: str, tmp_path: Path) -> None:
    url = migrated_url
    for command in (
        ("divisions", "load", str(shipped_data(NINGXIA))),
        ("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE))),
    ):
        result = quhua(*command, url=url)
        assert result.exit_code == 0, result.stdout
    with shipped_data(CENSUS).open(encoding="utf-8") as handle:
        counties = list(csv.DictReader(handle))
    assert len(counties) == 22
    values = tmp_path / "census.csv"
    with values.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["jurisdiction", "element", "period", "value", "disaggregation"])
        for county in counties:
            for sex in ("male", "female"):
                writer.writerow(
                    [county["code"], "census_population", "2020", county[sex], f"sex={sex}"]
                )
    imported = quhua("values", "import", str(values), "--reason", "census 2020", url=url)
    assert imported.exit_code == 0, imported.stdout

    with client_for(url, issue_token(url, "reader", "aggregate_reader", "64")) as client:
        data = data_of(client, QUERY)
    unit = data["jurisdiction"]
    assert unit["total"] == {
        "value": PUBLISHED["population"],
        "reportingUnits": 22,
        "expectedUnits": 22,
    }
    assert unit["male"]["value"] == PUBLISHED["male"]
    assert unit["female"]["value"] == PUBLISHED["female"]
    assert unit["ratio"]["numerator"] == PUBLISHED["male"]
    assert unit["ratio"]["denominator"] == PUBLISHED["female"]
    assert unit["ratio"]["value"] == PUBLISHED["male"] / PUBLISHED["female"] * 100
    assert round(unit["ratio"]["value"], 2) == 103.83
    by_city: dict[str, int] = {}
    for county in counties:
        by_city[county["city_code"]] = by_city.get(county["city_code"], 0) + int(
            county["population"]
        )
    grid = data["rollup"]
    assert dict(zip(grid["codes"], grid["columns"][0]["values"], strict=True)) == by_city
