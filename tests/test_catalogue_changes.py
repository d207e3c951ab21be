"""A catalogue reloaded over stored values: refused where it would re-interpret them,
rebuilding the store where it reads them another way; never a stale aggregate."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from core.db.engine import sync_engine
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.cli import quhua
from tests.conftest import client_for, data_of
from tests.databases import issue_token
from tests.test_rollups_verify import import_file, month_lines, reported, reported_template

__all__ = ["reported", "reported_template"]

DEFAULT = shipped_data(DEFAULT_CATALOGUE).read_text(encoding="utf-8")
POPULATION = """{ jurisdiction(code: "640104") {
  value(element: "population", period: "2024-Q1") { value } } }"""


def changed(tmp_path: Path, old: str, new: str) -> Path:
    assert old in DEFAULT
    path = tmp_path / "catalogue.toml"
    path.write_text(DEFAULT.replace(old, new, 1), encoding="utf-8")
    return path


def load(url: str, path: Path, *args: str) -> tuple[int, dict[str, object]]:
    result = quhua("catalogue", "load", str(path), "--json", *args, url=url)
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def admin(reported: str) -> Iterator[TestClient]:
    with client_for(reported, issue_token(reported, "admin", "admin", "64")) as client:
        yield client


POPULATION_AVERAGE = 'time_aggregation = "average"\ncategories = ["sex"]'


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            'period_type = "month"\ntime_aggregation = "average"',
            'period_type = "quarter"\ntime_aggregation = "average"',
            "elements.population.period_type: month → quarter would re-interpret the",
        ),
        (
            'value_type = "integer"\nperiod_type = "month"\ntime_aggregation = "average"',
            'value_type = "amount"\nperiod_type = "month"\ntime_aggregation = "average"',
            "elements.population.value_type: integer → amount",
        ),
        (POPULATION_AVERAGE, 'time_aggregation = "average"', "elements.population.categories"),
        (
            "options = { 1 = ",
            "options = { 9 = ",
            "categories.parity.options: '1' is gone, but",
        ),
    ],
)
def test_a_change_that_re_interprets_values_is_refused(
    reported: str, admin: TestClient, tmp_path: Path, old: str, new: str, says: str
) -> None:
    before = data_of(admin, POPULATION)
    code, report = load(reported, changed(tmp_path, old, new))
    assert code == 1
    problems = report["problems"]
    assert isinstance(problems, list)
    assert any(says in problem for problem in problems), problems
    assert "values" in problems[0]
    assert data_of(admin, POPULATION) == before
    assert quhua("rollups", "verify", url=reported).exit_code == 0


def test_a_new_time_aggregation_rebuilds_that_element(
    reported: str, admin: TestClient, tmp_path: Path
) -> None:
    average = data_of(admin, POPULATION)["jurisdiction"]["value"]["value"]
    path = changed(tmp_path, POPULATION_AVERAGE, 'time_aggregation = "last"\ncategories = ["sex"]')
    code, report = load(reported, path, "--dry-run")
    assert code == 0
    assert report["written"] is False
    assert "population" in report["rebuilt"]  # type: ignore[operator]
    assert data_of(admin, POPULATION)["jurisdiction"]["value"]["value"] == average
    code, report = load(reported, path)
    assert code == 0
    assert list(report["rebuilt"]) == ["population"]  # type: ignore[call-overload]
    march = data_of(
        admin,
        """{ jurisdiction(code: "640104") {
          value(element: "population", period: "2024-03") { value } } }""",
    )["jurisdiction"]["value"]["value"]
    assert data_of(admin, POPULATION)["jurisdiction"]["value"]["value"] == march != average
    assert quhua("rollups", "verify", url=reported).exit_code == 0
    # Values written afterwards are kept the new way.
    import_file(reported, tmp_path, "april.csv", month_lines(4, random.Random(3)))
    assert quhua("rollups", "verify", url=reported).exit_code == 0


def test_new_reporting_levels_rebuild_and_dropped_ones_with_values_are_refused(
    reported: str, tmp_path: Path
) -> None:
    paid = 'in the month, in yuan."\nvalue_type = "amount"\nperiod_type = "month"\n'
    paid += 'time_aggregation = "sum"\n\n[elements.funding]'
    assert "Reward and assistance money paid to parents " + paid in DEFAULT
    wider = changed(
        tmp_path, paid, paid.replace("\n\n", '\nreported_at = ["village", "township"]\n\n')
    )
    code, report = load(reported, wider)
    assert code == 0, report
    assert list(report["rebuilt"]) == ["reward_paid"]  # type: ignore[call-overload]
    assert quhua("rollups", "verify", url=reported).exit_code == 0
    narrower = changed(tmp_path, paid, paid.replace("\n\n", '\nreported_at = ["township"]\n\n'))
    code, report = load(reported, narrower)
    assert code == 1
    assert "elements.reward_paid.reported_at" in str(report["problems"])


def test_changes_without_values_are_simply_made(migrated_url: str, tmp_path: Path) -> None:
    assert quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=migrated_url)
    code, report = load(
        migrated_url,
        changed(
            tmp_path,
            'period_type = "month"\ntime_aggregation = "average"',
            'period_type = "quarter"\ntime_aggregation = "average"',
        ),
    )
    assert code == 0, report
    assert report["rebuilt"] == {}


QUARTERLY_POLICY_BIRTHS = (
    'description = "Live births in the month that comply with the birth policy."\n'
    'value_type = "integer"\nperiod_type = "month"'
)


def _postgresql_only(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time: there is no race to lose")


def test_a_catalogue_change_waits_for_a_writer_under_way(reported: str, tmp_path: Path) -> None:
    _postgresql_only(reported)
    path = changed(
        tmp_path,
        QUARTERLY_POLICY_BIRTHS,
        QUARTERLY_POLICY_BIRTHS.replace('"month"', '"quarter"'),
    )
    engine = sync_engine(reported)
    try:
        with engine.connect() as writer, ThreadPoolExecutor(max_workers=1) as pool:
            # A writer holding its unit, its monthly value written but not committed.
            writer.execute(
                text("SELECT id FROM jurisdictions WHERE code = '640104001002' FOR NO KEY UPDATE")
            )
            writer.execute(
                text(
                    "INSERT INTO data_values (jurisdiction_id, combo_id, month_index, value,"
                    " updated_at) SELECT j.id, c.id, 2024 * 12 + 2, 3, now() FROM jurisdictions"
                    " j, option_combos c JOIN data_elements e ON e.id = c.element_id WHERE"
                    " j.code = '640104001002' AND e.code = 'policy_births'"
                )
            )
            loading = pool.submit(load, reported, path)
            time.sleep(1.0)
            assert not loading.done()
            writer.commit()
            code, report = loading.result(timeout=60)
    finally:
        engine.dispose()
    assert code == 1
    assert "elements.policy_births.period_type" in str(report["problems"])


def test_a_writer_held_by_a_catalogue_change_checks_again(reported: str, admin: TestClient) -> None:
    _postgresql_only(reported)
    submit = """mutation($rows: [ValueInput!]!) {
      submitValues(input: $rows, reason: "r") { ok errors { code message } } }"""
    rows = [
        {
            "jurisdiction": "640104001002",
            "element": "policy_births",
            "period": "2024-03",
            "value": 2,
        }
    ]
    engine = sync_engine(reported)
    try:
        with engine.connect() as catalogue, ThreadPoolExecutor(max_workers=1) as pool:
            # A catalogue change under way: writers are held, the element is quarterly now.
            catalogue.execute(text("LOCK TABLE jurisdictions IN EXCLUSIVE MODE"))
            catalogue.execute(
                text(
                    "UPDATE data_elements SET period_type = 'quarter' WHERE code = 'policy_births'"
                )
            )
            writing = pool.submit(data_of, admin, submit, rows=rows)
            time.sleep(1.0)
            assert not writing.done()
            catalogue.commit()
            answer = writing.result(timeout=60)["submitValues"]
    finally:
        engine.dispose()
    assert answer["ok"] is False
    assert answer["errors"][0]["code"] == "CONFLICT"
    assert "the catalogue changed" in answer["errors"][0]["message"]


def test_an_option_no_value_uses_is_removed_and_then_refused(
    reported: str, admin: TestClient, tmp_path: Path
) -> None:
    path = changed(tmp_path, ', other = "其他方法" }', " }")
    code, report = load(reported, path)
    assert code == 0, report
    assert report["removed"] == {"options": 1}
    submit = """mutation($rows: [ValueInput!]!) {
      submitValues(input: $rows, reason: "r") { ok errors { message } } }"""
    row = {
        "jurisdiction": "640104001002",
        "element": "contraceptive_users",
        "period": "2024-03",
        "value": 4,
        "disaggregation": "method=other",
    }
    answer = data_of(admin, submit, rows=[row])["submitValues"]
    assert answer["ok"] is False
    assert "method has no option 'other'" in answer["errors"][0]["message"]
    again = load(reported, path)
    assert again[0] == 0
    assert again[1]["removed"] == {}
    assert quhua("rollups", "verify", url=reported).exit_code == 0
