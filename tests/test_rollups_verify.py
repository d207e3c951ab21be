"""`quhua rollups verify` finds every way the store can differ from its values; `rebuild`
restores it."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

from core.db.engine import sync_engine
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.cli import quhua
from tests.conftest import client_for
from tests.databases import (
    BACKENDS,
    cloned_database,
    fresh_database,
    issue_token,
    load_tree,
    upgrade,
)

HEADER = "jurisdiction,element,period,value,disaggregation\n"
VILLAGES = [
    "640104001002",
    "640104001005",
    "640104001007",
    "640104002001",
    "640105001002",
    "640202001001",
]


def import_file(url: str, tmp_path: Path, name: str, lines: list[str]) -> None:
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    result = quhua("values", "import", str(path), "--reason", "test", url=url)
    assert result.exit_code == 0, result.output


def month_lines(month: int, rng: random.Random) -> list[str]:
    lines = []
    for village in VILLAGES:
        for sex in ("male", "female"):
            lines.append(
                f"{village},population,2024-{month:02d},{rng.randint(300, 900)},sex={sex}\n"
            )
            lines.append(
                f"{village},births,2024-{month:02d},{rng.randint(0, 4)},sex={sex};parity=1\n"
            )
        lines.append(f"{village},married_women,2024-{month:02d},{rng.randint(50, 200)},\n")
        lines.append(f"{village},reward_paid,2024-{month:02d},{rng.randint(0, 9999) / 100},\n")
    return lines


@pytest.fixture(scope="module", params=BACKENDS)
def reported_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Ningxia with five villages' values over six months, each month corrected once."""
    folder = tmp_path_factory.mktemp("reported")
    with fresh_database(str(request.param), folder) as url:
        upgrade(url)
        load_tree(url)
        loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
        assert loaded.exit_code == 0
        rng = random.Random(7)
        for month in range(1, 7):
            import_file(url, folder, f"m{month}.csv", month_lines(month, rng))
            import_file(url, folder, f"fix{month}.csv", month_lines(month, rng)[::3])
        yield url


@pytest.fixture
def reported(reported_template: str, tmp_path: Path) -> Iterator[str]:
    """A copy of the template of its own: tests here corrupt and change it."""
    with cloned_database(reported_template, tmp_path) as url:
        yield url


def sql(url: str, statement: str) -> None:
    engine = sync_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def test_the_store_of_a_correct_database_verifies(reported: str) -> None:
    result = quhua("rollups", "verify", url=reported)
    assert result.exit_code == 0, result.output
    assert "the store equals its values" in result.output


def test_every_kind_of_difference_is_found_and_rebuild_restores(reported: str) -> None:
    # A total off by one, a report count lost, a row nothing derives, a unit's size wrong.
    sql(
        reported,
        "UPDATE rollups SET total = total + 1 WHERE unit_id = (SELECT id FROM"
        " jurisdictions WHERE code = '640104') AND span = 1 AND month_index = 2024 * 12 + 2"
        " AND combo_id = (SELECT c.id FROM option_combos c JOIN data_elements e"
        " ON e.id = c.element_id WHERE e.code = 'births' AND c.key = 'parity=1;sex=male')",
    )
    sql(
        reported,
        "DELETE FROM rollup_reports WHERE unit_id = (SELECT id FROM jurisdictions"
        " WHERE code = '640105') AND span = 12",
    )
    sql(
        reported,
        "INSERT INTO rollups (unit_id, span, month_index, combo_id, total) SELECT"
        " j.id, 1, 2023 * 12, c.id, 5 FROM jurisdictions j, option_combos c JOIN data_elements"
        " e ON e.id = c.element_id WHERE j.code = '6402' AND e.code = 'deaths'",
    )
    sql(
        reported,
        "UPDATE subtree_sizes SET units = units + 1 WHERE unit_id = (SELECT id FROM"
        " jurisdictions WHERE code = '640104001')",
    )
    # Rows of a unit and a combo that do not exist.
    sql(
        reported,
        "INSERT INTO rollups (unit_id, span, month_index, combo_id, total)"
        " VALUES (999999, 1, 2024 * 12, 999999, 2)",
    )
    sql(
        reported,
        "INSERT INTO rollup_reports (unit_id, span, month_index, element_id, units)"
        " VALUES (999999, 1, 2024 * 12, 999999, 1)",
    )
    found = quhua("rollups", "verify", url=reported)
    assert found.exit_code == 1
    lines = found.stdout.splitlines()
    assert "rollups unit #999999 ?[?] 1 month(s) from 2024-01: stored 2.0, fresh None" in lines
    assert "rollup_reports unit #999999 ? 1 month(s) from 2024-01: stored 1, fresh None" in lines
    assert any(
        line.startswith("rollups 640104 births[parity=1;sex=male] 1 month(s) from 2024-03")
        for line in lines
    ), lines
    assert any(line.startswith("rollup_reports 640105 ") for line in lines), lines
    assert "rollups 6402 deaths[] 1 month(s) from 2023-01: stored 5.0, fresh None" in lines
    assert any(line.startswith("subtree_sizes 640104001 ") for line in lines), lines
    # Looking elsewhere, or at other elements, finds nothing of it.
    elsewhere = quhua("rollups", "verify", "--under", "6403", url=reported)
    assert elsewhere.exit_code == 0, elsewhere.output
    one_element = quhua(
        "rollups", "verify", "--element", "married_women", "--under", "640104", url=reported
    )
    assert one_element.exit_code == 0, one_element.output
    births = quhua("rollups", "verify", "--element", "births", url=reported)
    assert births.exit_code == 1
    # Verifying changed nothing; rebuilding one element mends that element only.
    assert quhua("rollups", "verify", url=reported).exit_code == 1
    assert quhua("rollups", "rebuild", "--element", "births", url=reported).exit_code == 0
    assert quhua("rollups", "verify", "--element", "births", url=reported).exit_code == 0
    assert quhua("rollups", "verify", url=reported).exit_code == 1
    rebuilt = quhua("rollups", "rebuild", url=reported)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "rebuilt the store from" in rebuilt.output
    assert quhua("rollups", "verify", url=reported).exit_code == 0


def test_unknown_names_are_refused(reported: str) -> None:
    unit = quhua("rollups", "verify", "--under", "99", url=reported)
    assert unit.exit_code == 1
    assert "no jurisdiction has code '99'" in unit.output
    element = quhua("rollups", "rebuild", "--element", "boys", url=reported)
    assert element.exit_code == 1
    assert "no data element has code 'boys'" in element.output


def test_a_rebuild_racing_writers_leaves_the_store_equal_to_its_values(reported: str) -> None:
    submit = """mutation($rows: [ValueInput!]!) {
      submitValues(input: $rows, reason: "race") { ok } }"""
    token = issue_token(reported, "racer", "reporter", "6401")
    stop = threading.Event()

    def write() -> int:
        written = 0
        rng = random.Random(11)
        with client_for(reported, token) as client:
            while not stop.is_set() and written < 200:
                village = rng.choice(VILLAGES[:4])
                row = {
                    "jurisdiction": village,
                    "element": rng.choice(["population", "married_women"]),
                    "period": f"2024-{rng.randint(1, 9):02d}",
                    "value": rng.randint(1, 999),
                    "disaggregation": "",
                }
                if row["element"] == "population":
                    row["disaggregation"] = "sex=male"
                body = client.post("/graphql", json={"query": submit, "variables": {"rows": [row]}})
                assert body.status_code == 200, body.text
                assert "errors" not in body.json(), body.json()
                written += 1
        return written

    with ThreadPoolExecutor(max_workers=1) as pool:
        writer = pool.submit(write)
        for _ in range(3):
            assert quhua("rollups", "rebuild", url=reported).exit_code == 0
        stop.set()
        assert writer.result() > 0
    result = quhua("rollups", "verify", url=reported)
    assert result.exit_code == 0, result.output


def test_a_small_error_in_a_large_amount_is_found(reported: str, tmp_path: Path) -> None:
    import_file(reported, tmp_path, "big.csv", ["640104001002,reward_paid,2024-02,4000000000.5,\n"])
    assert quhua("rollups", "verify", url=reported).exit_code == 0
    sql(
        reported,
        "UPDATE rollups SET total = total - 3 WHERE total > 1e9 AND combo_id IN (SELECT c.id"
        " FROM option_combos c JOIN data_elements e ON e.id = c.element_id"
        " WHERE e.code = 'reward_paid')",
    )
    assert quhua("rollups", "verify", "--element", "reward_paid", url=reported).exit_code == 1
