"""kill -9 part-way through a large write: the database keeps all of it or none, and the
roll-up store still equals the values. Real processes, real signals, both backends.

Behind the scale marker (CI's scale step): each test writes a few hundred thousand values
and takes 10 to 50 s.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.db.engine import sync_engine
from quhua.synthetic import generate, write_csv
from tests.cli import quhua
from tests.databases import ningxia_world
from tests.processes import Server, quhua_server
from tests.stored_values import SEED, snapshot, verified, villages

pytestmark = pytest.mark.scale

# A batch request of this many submitValues of MAX_ROWS rows each: one transaction.
OPERATIONS = 5
ROWS = 1000
# births by sex and parity: a village has six cells of a month.
CELLS = [f"sex={s};parity={p}" for s in ("male", "female") for p in ("1", "2", "3plus")]


def kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
    """SIGKILL the process as soon as `ready` holds; fail if it ended first."""
    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None, "the process ended before the moment to kill it"
        assert time.monotonic() < deadline, "the moment to kill never came"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


class Watch:
    """A database seen from outside, while another process writes it."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.sqlite = self.url.get_backend_name() == "sqlite"
        self.path = self.url.database or ""
        self.engine = sync_engine(url, isolation_level="AUTOCOMMIT")

    def close(self) -> None:
        self.engine.dispose()

    def _scalar(self, query: str) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text(query)).scalar_one())


class Grown(Watch):
    """Rows not yet committed have reached the disk: on SQLite, the write-ahead log (emptied
    first) has grown past `by` bytes as the page cache spilled; on PostgreSQL, the values
    table has grown by `by` bytes."""

    def __init__(self, url: str, by: int) -> None:
        super().__init__(url)
        if self.sqlite:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            self.limit = by
        else:
            self.limit = self._size() + by

    def _size(self) -> int:
        if self.sqlite:
            return os.path.getsize(f"{self.path}-wal")
        return self._scalar("SELECT pg_relation_size('data_values')")

    def __call__(self) -> bool:
        return self._size() > self.limit


class Held(Watch):
    """A transaction has been writing for `seconds`: on SQLite, it held the write lock
    throughout; on PostgreSQL, a session of the database held a transaction id."""

    def __init__(self, url: str, seconds: float) -> None:
        super().__init__(url)
        self.seconds = seconds
        self.since: float | None = None

    def _busy(self) -> bool:
        if not self.sqlite:
            return bool(
                self._scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                )
            )
        probe = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()

    def __call__(self) -> bool:
        if not self._busy():
            self.since = None
            return False
        self.since = self.since or time.monotonic()
        return time.monotonic() - self.since >= self.seconds


@pytest.fixture
def world(backend: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with ningxia_world(backend, tmp_path, "crash-admin") as found:
        yield found


def test_an_import_killed_part_way_leaves_the_values_as_they_were(
    world: tuple[str, str], tmp_path: Path
) -> None:
    url, _token = world
    codes = villages(url)
    first = tmp_path / "2025-01.csv"
    write_csv(generate(codes, first_year=2025, years=1, seed=SEED, only=["2025-01"]), first)
    imported = quhua("values", "import", str(first), url=url)
    assert imported.exit_code == 0, imported.stdout
    before = snapshot(url)
    # January again with other figures (updates), and three more months (new values).
    big = tmp_path / "big.csv"
    months = ["2025-01", "2025-02", "2025-03", "2025-04"]
    rows = write_csv(generate(codes, first_year=2025, years=1, seed=SEED + 1, only=months), big)
    assert rows > 250_000
    writing = Grown(url, by=8 << 20)
    try:
        command = [sys.executable, "-m", "quhua", "values", "import", str(big)]
        with (tmp_path / "import.log").open("wb") as log:
            process = subprocess.Popen(
                [*command, "--database-url", url], stdout=log, stderr=subprocess.STDOUT
            )
        kill_when(process, writing)
    finally:
        writing.close()
    assert snapshot(url) == before
    verified(url)


SUBMIT = """mutation($input: [ValueInput!]!) {
  submitValues(reason: "crash", input: $input) { ok errors { index code message } } }"""


def _batch(codes: list[str]) -> list[dict[str, object]]:
    """OPERATIONS submitValues of ROWS new births each, every row a cell of its own."""
    cells = [(code, cell) for code in codes for cell in CELLS]
    operations: list[dict[str, object]] = []
    for number in range(OPERATIONS):
        rows = [
            {
                "jurisdiction": code,
                "element": "births",
                "period": "2025-02",
                "disaggregation": cell,
                "value": index % 9 + 1,
            }
            for index, (code, cell) in enumerate(cells[number * ROWS : (number + 1) * ROWS])
        ]
        operations.append({"query": SUBMIT, "variables": {"input": rows}})
    return operations


def _post(server: Server, token: str, body: object, answers: list[object]) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        answer = httpx.post(
            f"{server.base}/graphql",
            content=json.dumps(body, separators=(",", ":")),
            headers=headers,
            timeout=300,
        )
        answers.append(answer.text)
    except httpx.TransportError as error:
        answers.append(error)


def test_a_server_killed_in_a_batch_keeps_none_of_it(
    world: tuple[str, str], tmp_path: Path
) -> None:
    url, token = world
    body = _batch(villages(url))
    env = {"QUHUA_DATABASE_URL": url}
    before = snapshot(url)
    answers: list[object] = []
    writing = Held(url, seconds=3)
    try:
        with quhua_server("serve", folder=tmp_path, env=env) as server:
            sender = threading.Thread(target=_post, args=(server, token, body, answers))
            sender.start()
            kill_when(server.process, writing)
            sender.join(timeout=60)
    finally:
        writing.close()
    # The client heard no answer: the server died with the batch under way.
    assert len(answers) == 1
    assert isinstance(answers[0], httpx.TransportError), answers
    assert snapshot(url) == before
    verified(url)
    # A server started again over the same database serves it.
    read = '{ jurisdiction(code: "640104") { code } }'
    with quhua_server("serve", folder=tmp_path, env=env) as server:
        answer = httpx.post(
            f"{server.base}/graphql",
            json={"query": read},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.json() == {"data": {"jurisdiction": {"code": "640104"}}}
