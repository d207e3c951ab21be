"""The server as users start it: refuses a database behind, serves a real socket."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

from quhua.migrate import SchemaBehindError
from tests.cli import quhua
from tests.conftest import TOKENS, client_for
from tests.databases import issue_token
from tests.processes import quhua_server


def test_the_app_refuses_to_start_on_a_database_behind(empty_url: str) -> None:
    with pytest.raises(SchemaBehindError, match="quhua db upgrade"), client_for(empty_url):
        pass


def test_serve_refuses_a_database_behind_and_names_the_command(empty_url: str) -> None:
    result = quhua("serve", url=empty_url)
    assert result.exit_code == 1
    assert "run `quhua db upgrade` first" in result.stderr


def test_db_upgrade_then_current(empty_url: str) -> None:
    assert "empty (behind" in quhua("db", "current", url=empty_url).stdout
    assert quhua("db", "upgrade", url=empty_url).exit_code == 0
    assert "up to date" in quhua("db", "current", url=empty_url).stdout


@contextmanager
def running_server(url: str, *args: str) -> Iterator[str]:
    """`quhua serve` in its own process; yields its base URL."""
    with (
        tempfile.TemporaryDirectory() as folder,
        quhua_server(
            "serve", *args, folder=Path(folder), env={"QUHUA_DATABASE_URL": url}
        ) as server,
    ):
        yield server.base


def test_two_workers_answer_over_a_real_socket(ningxia_url: str) -> None:
    query = '{ jurisdiction(code: "640521") { name ancestors { name } } }'
    headers = {"Authorization": f"Bearer {TOKENS[ningxia_url]}"}
    with running_server(ningxia_url, "--workers", "2") as base:
        for _ in range(4):
            response = httpx.post(
                f"{base}/graphql", json={"query": query}, headers=headers, timeout=10
            )
            assert response.status_code == 200
            assert response.json() == {
                "data": {
                    "jurisdiction": {
                        "name": "中宁县",
                        "ancestors": [{"name": "宁夏回族自治区"}, {"name": "中卫市"}],
                    }
                }
            }


def post(base: str, token: str, query: str, **variables: object) -> httpx.Response:
    return httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def seconds_until(check: Callable[[], bool], *, limit: float = 5.0) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > limit:
            return limit
        time.sleep(0.02)
    return time.monotonic() - start


def test_a_change_made_through_one_server_reaches_another_within_a_second(
    ningxia_url: str,
) -> None:
    subject = f"two-servers-{uuid.uuid4().hex[:6]}"
    token = issue_token(ningxia_url, subject, "viewer", "6401")
    admin = TOKENS[ningxia_url]
    read = '{ jurisdiction(code: "6401") { name } }'
    with running_server(ningxia_url) as first, running_server(ningxia_url) as second:
        assert post(second, token, read).json() == {"data": {"jurisdiction": {"name": "银川市"}}}

        revoked = post(
            first,
            admin,
            'mutation($s: String!) { revokeRole(subject: $s, role: "viewer", jurisdiction: "6401",'
            ' reason: "moved") { role } }',
            s=subject,
        )
        assert "errors" not in revoked.json(), revoked.json()

        def forbidden() -> bool:
            errors = post(second, token, read).json().get("errors", [])
            return bool(errors) and errors[0]["extensions"]["code"] == "FORBIDDEN"

        assert seconds_until(forbidden) < 1.0

        tokens_of = "query($s: String!) { tokens(subject: $s) { id } }"
        tokens = post(first, admin, tokens_of, s=subject)
        # A subject with no grants left is nobody's to administer: as if unknown.
        assert tokens.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        quhua(
            "grant",
            "--subject",
            subject,
            "--role",
            "viewer",
            "--jurisdiction",
            "6401",
            url=ningxia_url,
        )
        assert seconds_until(lambda: not forbidden()) < 1.0
        [listed] = post(first, admin, tokens_of, s=subject).json()["data"]["tokens"]
        post(
            first,
            admin,
            'mutation($id: ID!) { revokeToken(id: $id, reason: "left") { revokedAt } }',
            id=listed["id"],
        )
        assert seconds_until(lambda: post(second, token, read).status_code == 401) < 1.0
