"""The server as users start it: refuses a database behind, serves a real socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2 as httpx
import pytest

from quhua.migrate import SchemaBehindError
from tests.cli import quhua
from tests.conftest import TOKENS, client_for


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_server(url: str, *args: str) -> Iterator[str]:
    """`quhua serve` in its own process; yields its base URL."""
    port = free_port()
    env = {**os.environ, "QUHUA_DATABASE_URL": url}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed after the process ends
    process = subprocess.Popen(
        [sys.executable, "-m", "quhua", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"the server did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


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
