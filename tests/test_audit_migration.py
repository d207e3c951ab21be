"""Migration 0008 moves who, when, why and from where onto change sets, and back, losing
nothing: checked on audit rows written by real imports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from core.db.engine import sync_engine
from quhua import migrate
from quhua.demo import DEFAULT_CATALOGUE, shipped_data
from tests.cli import quhua
from tests.conftest import client_for, data_of
from tests.databases import issue_token, load_tree

HEADER = "jurisdiction,element,period,value,disaggregation\n"
MARCH = HEADER + "640104001002,deaths,2024-03,1,\n640104001003,deaths,2024-03,2,\n"
FIX = HEADER + "640104001003,deaths,2024-03,3,\n"
# The audit as revision 0007 kept it: every change with its own who, when, why and where.
OLD_ROWS = text(
    "SELECT jurisdiction_id, month_index, old_value, new_value, actor, reason, source"
    " FROM value_changes ORDER BY id"
)
SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "late certificates") { ok changed }
}"""
NEW_ROWS = text(
    "SELECT c.jurisdiction_id, c.month_index, c.old_value, c.new_value, s.actor, s.reason,"
    " s.source, c.line, c.change_set_id, s.actor_subject_id, s.at FROM value_changes c"
    " JOIN change_sets s ON s.id = c.change_set_id ORDER BY c.id"
)


def _imported(url: str, tmp_path: Path, name: str, content: str, reason: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = quhua("values", "import", str(path), "--reason", reason, url=url)
    assert result.exit_code == 0, result.stdout


def _rows(url: str, query: Any, revision: str | None = None) -> list[tuple[Any, ...]]:
    engine = sync_engine(url)
    try:
        if revision is not None:
            with engine.begin() as connection:
                if revision == "head":
                    migrate.upgrade(connection)
                else:
                    migrate.downgrade(connection, revision)
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]
    finally:
        engine.dispose()


def test_change_sets_down_and_up_again(migrated_url: str, tmp_path: Path) -> None:
    url = migrated_url
    load_tree(url)
    loaded = quhua("catalogue", "load", str(shipped_data(DEFAULT_CATALOGUE)), url=url)
    assert loaded.exit_code == 0
    _imported(url, tmp_path, "march.csv", MARCH, "March report")
    with client_for(url, issue_token(url, "li", "reporter", "640104001")) as reporter:
        rows = [
            {"jurisdiction": code, "element": "deaths", "period": "2024-04", "value": 1}
            for code in ("640104001002", "640104001003")
        ]
        assert data_of(reporter, SUBMIT, rows=rows)["submitValues"] == {"ok": True, "changed": 2}
    _imported(url, tmp_path, "fix:2.csv", FIX, "corrected")
    written = _rows(url, NEW_ROWS)
    old = _rows(url, OLD_ROWS, revision="0007")
    actor = written[0][4]
    assert actor.startswith("cli")
    assert [row[4:] for row in old] == [
        (actor, "March report", "import march.csv:2"),
        (actor, "March report", "import march.csv:3"),
        ("li", "late certificates", "api"),
        ("li", "late certificates", "api"),
        (actor, "corrected", "import fix:2.csv:2"),
    ]
    assert [row[:4] for row in old] == [row[:4] for row in written]
    again = _rows(url, NEW_ROWS, revision="head")
    # One change set per file and per request; each imported change keeps its line.
    assert [row[:8] + row[9:] for row in again] == [row[:8] + row[9:] for row in written]
    assert [row[9] is not None for row in again] == [False, False, True, True, False]
    assert [row[6:8] for row in again] == [
        ("import march.csv", 2),
        ("import march.csv", 3),
        ("api", None),
        ("api", None),
        ("import fix:2.csv", 2),
    ]
    sets = [row[8] for row in again]
    assert sets[0] == sets[1] != sets[2] == sets[3] != sets[4] != sets[0]
