"""The catalogue: the shipped family-planning default, loading, updating, refusing."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from starlette.testclient import TestClient

from core.db.engine import sync_engine
from indicators.models import DataElement, Indicator
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.cli import quhua
from tests.conftest import data_of

DEFAULT = shipped_data(DEFAULT_CATALOGUE)


def load(url: str, path: Path) -> tuple[int, dict[str, object]]:
    result = quhua("catalogue", "load", str(path), "--json", url=url)
    return result.exit_code, json.loads(result.stdout)


def counts(url: str) -> tuple[int, int]:
    engine = sync_engine(url)
    with engine.connect() as connection:
        found = (
            connection.execute(select(func.count()).select_from(DataElement)).scalar_one(),
            connection.execute(select(func.count()).select_from(Indicator)).scalar_one(),
        )
    engine.dispose()
    return found


def test_the_default_loads_and_reloads_unchanged(migrated_url: str) -> None:
    code, report = load(migrated_url, DEFAULT)
    assert code == 0
    assert report["created"] == {
        "categories": 3,
        "options": 11,
        "elements": 18,
        "indicators": 15,
        "validation_rules": 7,
    }
    code, report = load(migrated_url, DEFAULT)
    assert code == 0
    assert report["created"] == {}
    assert report["updated"] == {}


def test_a_renamed_indicator_is_updated_in_place(migrated_url: str, tmp_path: Path) -> None:
    load(migrated_url, DEFAULT)
    changed = tmp_path / "catalogue.toml"
    changed.write_text(
        DEFAULT.read_text(encoding="utf-8").replace('name = "多孩率"', 'name = "多孩出生率"'),
        encoding="utf-8",
    )
    code, report = load(migrated_url, changed)
    assert code == 0
    assert report["updated"] == {"indicators": 1}


def test_a_bad_catalogue_lists_every_problem_and_writes_nothing(
    migrated_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        DEFAULT.read_text(encoding="utf-8")
        + """
[elements.x]
name = "x"
value_type = "int"
period_type = "week"
time_aggregation = "sum"
categories = ["nope"]
colour = "red"

[indicators.y]
name = "y"
description = "d"
numerator = "births[sex=boy]"
denominator = "deaths +"
unit = "%"
factor = 0
""",
        encoding="utf-8",
    )
    code, report = load(migrated_url, bad)
    assert code == 1
    assert report["problems"] == [
        "elements.x.colour: unknown key; expected one of categories, description, name, "
        "period_type, reported_at, time_aggregation, value_type",
        "elements.x.categories: unknown category 'nope'",
        "elements.x.value_type: 'int' is not one of integer | amount",
        "elements.x.period_type: 'week' is not one of month | quarter | year",
        "indicators.y.numerator: category sex has no option 'boy' at column 12 of "
        "'births[sex=boy]'",
        "indicators.y.denominator: expected a name, found the end at column 9 of 'deaths +'",
        "indicators.y.factor: must be a positive number",
    ]
    assert counts(migrated_url) == (0, 0)


def test_a_file_that_is_not_toml_is_refused(migrated_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[elements.births\nname = 1", encoding="utf-8")
    result = quhua("catalogue", "load", str(broken), url=migrated_url)
    assert result.exit_code == 1
    assert "broken.toml" in result.stderr


CATALOGUE = """{
  catalogue {
    categories { code name options { code name } }
    elements { code name valueType periodType timeAggregation reportedAt categories { code } }
    indicators { code name description numerator denominator factor unit annualize }
  }
}"""


def test_the_catalogue_through_graphql(ningxia_url: str, ningxia_client: TestClient) -> None:
    assert quhua("catalogue", "load", str(DEFAULT), url=ningxia_url).exit_code == 0
    catalogue = data_of(ningxia_client, CATALOGUE)["catalogue"]
    indicators = {i["code"]: i for i in catalogue["indicators"]}
    assert len(indicators) == 15
    assert indicators["birth_rate"] == {
        "code": "birth_rate",
        "name": "出生率",
        "description": "Live births per 1,000 residents per year.",
        "numerator": "births",
        "denominator": "population",
        "factor": 1000.0,
        "unit": "‰",
        "annualize": True,
    }
    assert indicators["sex_ratio_second_births"]["numerator"] == "births[parity=2,sex=male]"
    elements = {e["code"]: e for e in catalogue["elements"]}
    assert [c["code"] for c in elements["births"]["categories"]] == ["sex", "parity"]
    assert elements["funding"]["reportedAt"] == ["TOWNSHIP", "COUNTY"]  # lowest first
    assert elements["population"]["timeAggregation"] == "AVERAGE"
    parity = next(c for c in catalogue["categories"] if c["code"] == "parity")
    assert parity["options"] == [
        {"code": "1", "name": "一孩"},
        {"code": "2", "name": "二孩"},
        {"code": "3plus", "name": "三孩及以上"},
    ]
