"""A server's database at any earlier revision upgrades to the newest one keeping everything.

For each revision from the first that holds values up to the one before the newest, on
SQLite and PostgreSQL, a database is built at that revision and filled as its server would
have filled it (tests/upgrade_data.py: plain SQL on that revision's tables), then upgraded
with `quhua db upgrade`. Afterwards its values and their audit read back unchanged through
GraphQL, its tokens still authenticate (and its revoked and expired ones do not), its
grants still decide what each caller may read and write, and every row of the roll-up store
and of subtree_sizes equals what a rebuild from the values gives. The revisions come from
Alembic, so that each new migration is checked from every earlier revision.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select

from core.db.engine import sync_engine
from indicators.rollups.maintenance import rebuild_statements
from indicators.rollups.models import Rollup, RollupReport
from quhua import migrate
from tenancy.models import SubtreeSize
from tenancy.sizes import count_subtrees
from tests.cli import quhua
from tests.conftest import client_for, data_of, graphql
from tests.databases import BACKENDS, cloned_database, fresh_database
from tests.upgrade_data import (
    CHANGES,
    FIRST_WITH_VALUES,
    PEOPLE,
    RETIRED,
    REVISIONS,
    STORED,
    VALUES,
    combo_shapes,
    month_index,
    populate,
    read_tree,
    reference_sizes,
    reference_store,
    token_of,
)

# Every revision a server may still run at, oldest first (the newest is what they reach).
STARTS = REVISIONS[REVISIONS.index(FIRST_WITH_VALUES) : -1]
READ = """query($code: String!) {
  jurisdiction(code: $code) {
    census: values(period: "2020") { element disaggregation period value }
    last: values(period: "2023") { element disaggregation period value }
    this: values(period: "2024") { element disaggregation period value }
    auditTrail(first: 500) { edges { node {
      at actor element disaggregation period oldValue newValue reason source } } }
  }
}"""
ME = "{ me { subject { name } grants { role jurisdiction { code } } } }"
VALUES_OF = """query($code: String!) {
  jurisdiction(code: $code) { values(period: "2024-01") { element value } }
}"""
AGGREGATE = """query($code: String!, $period: String!, $element: String!) {
  jurisdiction(code: $code) {
    value(element: $element, period: $period) { value reportingUnits expectedUnits }
  }
}"""
SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "after the upgrade") { ok changed errors { message } }
}"""
Store = dict[str, dict[Any, float]]


def _start(backend: str, revision: str) -> Any:
    """Every start on SQLite; on PostgreSQL the oldest and the newest in the main suite,
    every other one in CI's bounded scale step (from the oldest, every migration's PostgreSQL
    SQL still runs in the main suite)."""
    thorough = backend != "sqlite" and revision not in (STARTS[0], STARTS[-1])
    return pytest.param(
        (backend, revision),
        id=f"{backend}-from-{revision}",
        marks=[pytest.mark.scale] if thorough else [],
    )


@pytest.fixture(
    scope="module",
    params=[_start(backend, revision) for backend in BACKENDS for revision in STARTS],
)
def upgraded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database filled at an earlier revision, then upgraded by `quhua db upgrade`."""
    backend, revision = request.param
    with fresh_database(backend, tmp_path_factory.mktemp("upgrade")) as url:
        engine = sync_engine(url)
        try:
            with engine.begin() as connection:
                migrate.upgrade(connection, revision)
                populate(connection, revision)
            with engine.connect() as connection:
                assert migrate.current_revision(connection) == revision
        finally:
            engine.dispose()
        result = quhua("db", "upgrade", url=url)
        assert result.exit_code == 0, result.output
        yield url


def _own_values(node: dict[str, Any]) -> list[tuple[str, str, str, float]]:
    rows = node["census"] + node["last"] + node["this"]
    return sorted((r["element"], r["disaggregation"], r["period"], r["value"]) for r in rows)


def test_values_and_their_audit_are_kept(upgraded: str) -> None:
    reporters = sorted({code for code, *_ in STORED} | {c.code for c in CHANGES})
    with client_for(upgraded, token_of("admin")) as admin:
        for code in reporters:
            unit = data_of(admin, READ, code=code)["jurisdiction"]
            stored = sorted((e, k, p, v) for (c, e, k, p), v in STORED.items() if c == code)
            assert _own_values(unit) == stored, code
            trail = [edge["node"] for edge in unit["auditTrail"]["edges"]]
            changes = [c for c in reversed(CHANGES) if c.code == code]
            assert [
                (
                    n["actor"],
                    n["element"],
                    n["disaggregation"],
                    n["period"],
                    n["oldValue"],
                    n["newValue"],
                    n["reason"],
                    n["source"],
                )
                for n in trail
            ] == [
                (
                    c.actor,
                    c.element,
                    c.key,
                    c.period,
                    c.old,
                    c.new,
                    c.reason,
                    c.source + (f":{c.line}" if c.line is not None else ""),
                )
                for c in changes
            ], code
            at = [dt.datetime.fromisoformat(n["at"]) for n in trail]
            assert [a.replace(tzinfo=a.tzinfo or dt.UTC) for a in at] == [c.at for c in changes]


GRANTS_OF = """query($subject: String!) {
  grants(subject: $subject) { edges { node { subject { name } } } }
}"""


def test_tokens_still_authenticate_and_grants_still_apply(upgraded: str) -> None:
    for person in PEOPLE:
        for label, (expires, revoked) in person.tokens.items():
            with client_for(upgraded, token_of(label)) as client:
                response = client.post("/graphql", json={"query": ME})
                if revoked is not None or (
                    expires is not None and expires < dt.datetime.now(dt.UTC)
                ):
                    assert response.status_code == 401, label
                    continue
                assert response.status_code == 200, response.text
                me = response.json()["data"]["me"]
                assert me["subject"]["name"] == person.name
                assert me["grants"] == [
                    {"role": person.role, "jurisdiction": {"code": person.code}}
                ]
    # Of two names that are one by NFKC and case, the older is found by either spelling.
    with client_for(upgraded, token_of("admin")) as admin:
        for spelling in ("zhou", "ＺＨＯＵ"):
            found = data_of(admin, GRANTS_OF, subject=spelling)["grants"]["edges"]
            assert [edge["node"]["subject"]["name"] for edge in found] == ["Zhou"]
    # A viewer of Shizuishan reads its villages and nothing of Yinchuan's.
    with client_for(upgraded, token_of("wang")) as wang:
        inside = data_of(wang, VALUES_OF, code="640205001001")["jurisdiction"]["values"]
        assert len(inside) > 0
        outside = graphql(wang, VALUES_OF, code="640104001002")
        assert outside["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The township's reporter writes inside it only.
    with client_for(upgraded, token_of("li")) as li:
        row = {"element": "deaths", "period": "2024-04", "value": 1}
        refused = data_of(li, SUBMIT, rows=[row | {"jurisdiction": "640205001001"}])
        assert refused["submitValues"]["ok"] is False


def _store(connection: Connection) -> Store:
    r, p, s = Rollup, RollupReport, SubtreeSize
    rollups = select(r.unit_id, r.span, r.month_index, r.combo_id, r.total)
    reports = select(p.unit_id, p.span, p.month_index, p.element_id, p.units)
    sizes = select(s.unit_id, s.level, s.until, s.units)
    return {
        name: {tuple(row[:-1]): float(row[-1]) for row in connection.execute(query)}
        for name, query in (("rollups", rollups), ("reports", reports), ("sizes", sizes))
    }


def _rebuilt(connection: Connection) -> Store:
    """The store and subtree sizes measured afresh, in a transaction rolled back."""
    with connection.begin() as transaction:
        count_subtrees(connection)
        for statement in rebuild_statements(connection.dialect.name):
            connection.execute(statement)
        rebuilt = _store(connection)
        transaction.rollback()
    return rebuilt


def _reference(connection: Connection) -> Store:
    """The same by brute force from the stored values (tests/upgrade_data.py)."""
    tree = read_tree(connection)
    v = VALUES.c
    values = connection.execute(select(v.jurisdiction_id, v.combo_id, v.month_index, v.value))
    rollups, reports = reference_store(
        tree, combo_shapes(connection), [tuple(row) for row in values], villages=False
    )
    sizes = reference_sizes(tree, by_retirement=True)
    return {
        "rollups": rollups,
        "reports": {key: float(n) for key, n in reports.items()},
        "sizes": {key: float(n) for key, n in sizes.items()},
    }


def _assert_same(found: Store, expected: Store) -> None:
    for name, rows in expected.items():
        # The store leaves out what sums to nothing; floating sums may leave a trace of it.
        wanted = {key: value for key, value in rows.items() if abs(value) > 1e-6}
        held = {key: value for key, value in found[name].items() if abs(value) > 1e-6}
        assert held.keys() == wanted.keys(), (name, held.keys() ^ wanted.keys())
        wrong = {
            key: (held[key], value)
            for key, value in wanted.items()
            if not math.isclose(held[key], value, rel_tol=1e-9, abs_tol=1e-6)
        }
        assert wrong == {}, name


def _check_store(url: str) -> None:
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            kept = _store(connection)
            reference = _reference(connection)
        with engine.connect() as connection:
            rebuilt = _rebuilt(connection)
    finally:
        engine.dispose()
    assert kept["rollups"] and kept["reports"] and kept["sizes"]
    _assert_same(kept, rebuilt)
    _assert_same(kept, reference)


def test_the_store_equals_a_rebuild_from_the_values(upgraded: str) -> None:
    _check_store(upgraded)
    births = [
        value
        for (code, element, _, period), value in STORED.items()
        if element == "births"
        and month_index("2024-01") <= month_index(period) < month_index("2024-04")
    ]
    with client_for(upgraded, token_of("admin")) as admin:
        province = data_of(admin, AGGREGATE, code="64", period="2024-Q1", element="births")
        assert province["jurisdiction"]["value"]["value"] == sum(births)
        # The retired village is expected for the quarter before it was retired only.
        expected = [
            data_of(admin, AGGREGATE, code=RETIRED[:9], period=quarter, element="deaths")[
                "jurisdiction"
            ]["value"]["expectedUnits"]
            for quarter in ("2023-Q4", "2024-Q1")
        ]
        assert expected[0] == expected[1] + 1


def test_writes_after_the_upgrade_keep_the_store(upgraded: str, tmp_path: Path) -> None:
    with cloned_database(upgraded, tmp_path) as url:
        rows = [
            {"jurisdiction": code, "element": element, "period": period, "value": value}
            for code, element, period, value in [
                ("640104001003", "deaths", "2024-03", 7),
                ("640104001003", "deaths", "2024-02", 2),
                ("640104001002", "married_women", "2024-04", 120),
                ("640104001005", "population", "2024-02", 650),
            ]
        ]
        rows[-1]["disaggregation"] = "sex=female"
        with client_for(url, token_of("li")) as li:
            written = data_of(li, SUBMIT, rows=rows)["submitValues"]
        assert written == {"ok": True, "changed": 4, "errors": []}
        _check_store(url)


def test_no_migration_imports_the_application() -> None:
    """A migration runs against the tables of its own revision: code written for today's
    tables (the models, the upkeep) would break it once they change."""
    application = (
        "core",
        "quhua",
        "schema",
        "resolvers",
        "indicators",
        "authz",
        "tenancy",
        "migrations",
    )
    versions = Path(migrate.MIGRATIONS_DIR) / "versions"
    imported = [
        f"{path.name} imports {name}"
        for path in sorted(versions.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        if name.split(".")[0] in application
    ]
    assert imported == []
