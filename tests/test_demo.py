"""`quhua demo`, as the README's first command runs it. Marked scale: it loads all of China."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

from quhua.demo import DEMO_USERS
from tests.processes import quhua_server

pytestmark = pytest.mark.scale
TOKEN = re.compile(r"qh_[A-Za-z0-9_-]{43}")


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
