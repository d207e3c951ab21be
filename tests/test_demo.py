"""`quhua demo`, as the README's first command runs it. Marked scale: it loads all of China."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

from quhua.demo import DEMO_USERS
from tests.cli import quhua
from tests.processes import quhua_server

pytestmark = pytest.mark.scale
TOKEN = re.compile(r"qh_[A-Za-z0-9_-]{43}")
DEMO_DATABASE = "var/quhua.sqlite3"


@contextmanager
def demo(folder: Path) -> Iterator[tuple[str, dict[str, str], str]]:
    """Run `quhua demo` in folder; yield its URL, its tokens by subject, and its output."""
    env = {"QUHUA_DATABASE_URL": "", "COLUMNS": "250"}
    with quhua_server("demo", "--no-browser", folder=folder, env=env) as server:
        output = server.output()
        tokens = TOKEN.findall(output)
        assert len(tokens) == len(DEMO_USERS), output
        yield server.base, {u.subject: t for u, t in zip(DEMO_USERS, tokens, strict=True)}, output


def ask(base: str, token: str, query: str) -> dict[str, object]:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def error_code(body: dict[str, object]) -> str | None:
    errors = body.get("errors")
    return errors[0]["extensions"]["code"] if isinstance(errors, list) else None


def test_the_demo_serves_the_tree_of_china_with_tokens_for_every_role() -> None:
    with tempfile.TemporaryDirectory() as folder, demo(Path(folder)) as (base, tokens, output):
        assert "loaded 665,276 divisions of China" in output
        admin = ask(base, tokens["ningxia-admin"], "{ grants { totalCount } }")
        assert admin == {"data": {"grants": {"totalCount": len(DEMO_USERS)}}}
        viewer = tokens["yinchuan-viewer"]
        assert ask(base, viewer, '{ jurisdiction(code: "6401") { name } }') == {
            "data": {"jurisdiction": {"name": "银川市"}}
        }
        assert error_code(ask(base, viewer, '{ jurisdiction(code: "6402") { name } }')) == (
            "FORBIDDEN"
        )
        assert error_code(ask(base, viewer, "{ grants { totalCount } }")) is None
        village = ask(
            base,
            tokens["chongan-reporter"],
            "{ jurisdictions(level: VILLAGE) { totalCount } }",
        )
        assert village == {"data": {"jurisdictions": {"totalCount": 1}}}
        system = ask(
            base,
            tokens["ningxia-stats-system"],
            '{ jurisdiction(code: "64") { descendantCount(level: COUNTY) } }',
        )
        assert system == {"data": {"jurisdiction": {"descendantCount": 22}}}
        assert_demo_values_arrive(base, tokens["ningxia-stats-system"])
        # The demo's store, kept by its imports while the server ran, equals its values.
        verified = quhua("rollups", "verify", url=f"sqlite:///{Path(folder) / DEMO_DATABASE}")
        assert verified.exit_code == 0, verified.output


RATES = """{ jurisdiction(code: "64") { indicators(period: "2025-Q4") {
  code value reportingUnits expectedUnits } } }"""
BELIEVABLE = {
    "birth_rate": (6, 14),
    "sex_ratio_at_birth": (105, 118),
    "contraceptive_prevalence": (80, 92),
    "funding_per_capita": (6, 16),
}


def assert_demo_values_arrive(base: str, token: str) -> None:
    """The newest quarter's values load in the background; once in, every indicator answers."""
    deadline = time.monotonic() + 300
    while True:
        body = ask(base, token, RATES)
        found = {i["code"]: i for i in body["data"]["jurisdiction"]["indicators"]}  # type: ignore[index]
        if found["birth_rate"]["value"] is not None or time.monotonic() > deadline:
            break
        time.sleep(2)
    # Every indicator of the monthly reports (the census one has its own table).
    monthly = {code: i for code, i in found.items() if not code.startswith("census")}
    assert all(i["value"] is not None for i in monthly.values()), monthly
    for code, (low, high) in BELIEVABLE.items():
        assert low <= found[code]["value"] <= high, found[code]
    assert found["birth_rate"]["reportingUnits"] == found["birth_rate"]["expectedUnits"] == 2912


def test_a_second_run_reuses_the_database_and_replaces_the_tokens(tmp_path: Path) -> None:
    with demo(tmp_path) as (_, first, output):
        assert "loaded 665,276" in output
    with demo(tmp_path) as (base, second, output):
        assert "using the existing database" in output
        old = httpx.post(
            f"{base}/graphql",
            json={"query": "{ me { subject { name } } }"},
            headers={"Authorization": f"Bearer {first['ningxia-admin']}"},
            timeout=30,
        )
        assert old.status_code == 401
        assert ask(base, second["ningxia-admin"], "{ me { subject { name } } }") == {
            "data": {"me": {"subject": {"name": "ningxia-admin"}}}
        }
