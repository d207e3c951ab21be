"""The whole division tree of China (665,276 units): loads, reloads, answers. Marked scale."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from core.db.engine import sync_engine
from quhua.demo import NATIONAL_TREE, shipped_data
from tenancy.models import Jurisdiction
from tests.cli import quhua
from tests.conftest import client_for, data_of
from tests.databases import fresh_database, upgrade

pytestmark = pytest.mark.scale

LEVELS = {"province": 31, "city": 342, "county": 2978, "township": 41352, "village": 620573}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def national_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with fresh_database(str(request.param), tmp_path_factory.mktemp("national")) as url:
        upgrade(url)
        yield url


def load(url: str) -> dict[str, object]:
    result = quhua("divisions", "load", str(shipped_data(NATIONAL_TREE)), "--json", url=url)
    assert result.exit_code == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_the_national_tree_loads_and_reloads_unchanged(national_url: str) -> None:
    first = load(national_url)
    assert first["inserted"] == sum(LEVELS.values())
    engine = sync_engine(national_url)
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                select(Jurisdiction.level, func.count()).group_by(Jurisdiction.level)
            ).all()
        )
    engine.dispose()
    assert {level.value: n for level, n in counts.items()} == LEVELS
    second = load(national_url)
    assert second["unchanged"] == sum(LEVELS.values())
    assert second["inserted"] == second["renamed"] == second["missing"] == 0
    # The units counted below every unit equal a fresh count of the whole tree.
    verified = quhua("rollups", "verify", url=national_url)
    assert verified.exit_code == 0, verified.output


def national_viewer(url: str) -> str:
    """A token of a viewer holding a grant at every province: all of China."""
    engine = sync_engine(url)
    with engine.connect() as connection:
        provinces = connection.execute(
            select(Jurisdiction.code).where(Jurisdiction.parent_id.is_(None))
        ).scalars()
        codes = list(provinces)
    engine.dispose()
    for code in codes:
        granted = quhua(
            "grant", "--subject", "national", "--role", "viewer", "--jurisdiction", code, url=url
        )
        assert granted.exit_code == 0, granted.stderr
    return quhua("token", "create", "--subject", "national", url=url).stdout.strip()


def test_tree_queries_answer_on_the_national_tree(national_url: str) -> None:
    query = """{
      provinces: jurisdictions(level: PROVINCE) {
        totalCount edges { node { code villages: descendantCount(level: VILLAGE) } } }
      hebei: jurisdictions(level: VILLAGE, under: "13", first: 3) {
        totalCount edges { node { code ancestors { code } } } }
      dongguan: jurisdiction(code: "441900") {
        name parent { code } children(first: 1) { totalCount } }
    }"""
    with client_for(national_url, national_viewer(national_url)) as client:
        data = data_of(client, query)
    provinces = data["provinces"]
    assert provinces["totalCount"] == 31
    assert sum(e["node"]["villages"] for e in provinces["edges"]) == LEVELS["village"]
    hebei = data["hebei"]
    assert hebei["totalCount"] == next(
        e["node"]["villages"] for e in provinces["edges"] if e["node"]["code"] == "13"
    )
    assert all(e["node"]["code"].startswith("13") for e in hebei["edges"])
    assert data["dongguan"]["parent"] == {"code": "4419"}
    assert data["dongguan"]["children"]["totalCount"] > 0
