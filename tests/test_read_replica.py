"""Read replicas: queries run on a real streaming standby once it has replayed the caller's
last write, on the primary before that, and on the primary while the standby is down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from starlette.testclient import TestClient

from quhua.app import create_app
from quhua.settings import Settings
from tests.conftest import client_for
from tests.databases import issue_token, load_catalogue, load_tree, upgrade
from tests.pg_replica import sql, streaming_replica, wait_for_replay
from tests.private_postgres import private_postgres

VILLAGE = "640104001002"
WRITE = """mutation($value: Float!) { submitValues(reason: "replica", input: [{
  jurisdiction: "640104001002", element: "births", period: "2025-01",
  disaggregation: "sex=male;parity=1", value: $value }]) { ok errors { message } } }"""
READ = """{ jurisdiction(code: "640104001002") {
  values(period: "2025-01") { element disaggregation value } } }"""
COLUMNS = "jurisdiction,element,period,value,disaggregation\n"
# The statements that check, before a request reads from a replica, the replica's replay
# position and the caller's last write position (on the primary).
PROBES = ("pg_is_in_recovery", "write_positions")


@dataclass
class Statements:
    """The port of the server that ran each statement of a request, as SQLAlchemy sent it
    (background work, such as the policy poll, is left out). With `cut` set to a port, the
    next such statement sent there fails: its server session is ended, from another
    connection, just before it goes."""

    sent: list[tuple[int | None, str]] = field(default_factory=list)
    cut: int | None = None

    def note(  # SQLAlchemy's before_cursor_execute
        self,
        connection: Any,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        context: Any,
        _many: bool,
    ) -> None:
        if context is None or not context.execution_options.get("quhua_request"):
            return
        port = connection.engine.url.port
        self.sent.append((port, statement))
        if port == self.cut and not _probe(statement):
            self.cut = None
            pid = connection.connection.driver_connection.info.backend_pid
            url = connection.engine.url.set(drivername="postgresql")
            sql(url.render_as_string(hide_password=False), f"SELECT pg_terminate_backend({pid})")

    def ports(self) -> set[int | None]:
        """Where the statements since the last call ran, the replica's probe left out."""
        ports = {port for port, statement in self.sent if not _probe(statement)}
        self.sent.clear()
        return ports


def _probe(statement: str) -> bool:
    return any(probe in statement for probe in PROBES)


@contextmanager
def recorded() -> Iterator[Statements]:
    record = Statements()
    event.listen(Engine, "before_cursor_execute", record.note)
    try:
        yield record
    finally:
        event.remove(Engine, "before_cursor_execute", record.note)


def _post(client: TestClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _batch(client: TestClient, token: str, *operations: dict[str, Any]) -> None:
    answer = client.post(
        "/graphql", json=list(operations), headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    assert all("errors" not in one for one in answer.json()), answer.text


def _import(client: TestClient, token: str, value: int) -> None:
    answer = client.post(
        "/import/values",
        params={"reason": "replica"},
        content=f"{COLUMNS}{VILLAGE},births,2025-01,{value},sex=male;parity=1\n".encode(),
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["written"] is True, answer.text


def _write(client: TestClient, token: str, value: float) -> None:
    assert _post(client, token, WRITE, value=value)["submitValues"]["ok"] is True


def _births(client: TestClient, token: str) -> float:
    values = _post(client, token, READ)["jurisdiction"]["values"]
    (births,) = [v["value"] for v in values if v["element"] == "births"]
    return float(births)


def test_queries_read_your_writes_from_a_streaming_replica() -> None:
    with private_postgres() as primary:
        url = primary.url
        upgrade(url)
        load_tree(url)
        load_catalogue(url)
        writer = issue_token(url, "replica-writer", "reporter", "640104001")
        reader = issue_token(url, "replica-reader", "viewer", "640104")
        with (
            streaming_replica(primary) as replica,
            recorded() as record,
            client_for(
                url, read_replica_urls=[replica.url], read_replica_retry_seconds=0.2
            ) as client,
            # Another server process: none of the first one's memory.
            client_for(url, read_replica_urls=[replica.url]) as elsewhere,
        ):
            # The reader's token is looked up on the primary, as every token is.
            _post(client, reader, READ)
            record.ports()
            _write(client, writer, 7)
            assert record.ports() == {primary.port}
            # Replayed: the writer's own read comes from the replica, and finds the write.
            wait_for_replay(primary, replica)
            assert _births(client, writer) == 7
            assert record.ports() == {replica.port}
            # A batch of queries reads the replica; one holding a mutation is one
            # transaction on the primary, its queries included.
            _batch(client, reader, {"query": READ}, {"query": READ})
            assert record.ports() == {replica.port}
            write = {"query": WRITE, "variables": {"value": 7}}
            _batch(client, writer, {"query": READ}, write)
            assert record.ports() == {primary.port}

            # Paused: the writer's next write is not on the replica, so the writer reads
            # from the primary; a caller who wrote nothing still reads the replica, as it
            # was before the write.
            sql(replica.url, "SELECT pg_wal_replay_pause()")
            _write(client, writer, 8)
            record.ports()
            assert _births(client, writer) == 8
            assert record.ports() == {primary.port}
            assert _births(client, reader) == 7
            assert record.ports() == {replica.port}
            # The writer's read through another process finds its write as well.
            assert _births(elsewhere, writer) == 8
            assert record.ports() == {primary.port}
            # A write through /import/values is noted the same way.
            _import(client, writer, 9)
            record.ports()
            assert _births(client, writer) == 9
            assert record.ports() == {primary.port}

            sql(replica.url, "SELECT pg_wal_replay_resume()")
            wait_for_replay(primary, replica)
            assert _births(client, writer) == 9
            assert record.ports() == {replica.port}
            assert _births(elsewhere, writer) == 9
            assert record.ports() == {replica.port}

            # A replica failing in the middle of a read: the read runs again on the primary.
            record.cut = replica.port
            assert _births(client, reader) == 9
            assert record.cut is None
            assert record.ports() == {replica.port, primary.port}
            # Down (whether or not its pause after that failure is over): reads go to the
            # primary, and no read fails.
            replica.stop()
            assert _births(client, reader) == 9
            assert record.ports() == {primary.port}
            assert _births(client, reader) == 9
            assert record.ports() == {primary.port}
            # Back: tried again once its pause is over.
            replica.start()
            wait_for_replay(primary, replica)
            _wait_until_served_by(replica.port, client, reader, record)


def _wait_until_served_by(port: int, client: TestClient, token: str, record: Statements) -> None:
    for _attempt in range(200):
        assert _births(client, token) == 9
        if record.ports() == {port}:
            return
        time.sleep(0.05)
    raise AssertionError(f"no read came from the server on port {port} again")


def test_replicas_need_postgresql_urls(tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'quhua.sqlite3'}"
    with pytest.raises(ValueError, match="needs a PostgreSQL QUHUA_DATABASE_URL"):
        create_app(Settings(database_url=sqlite, read_replica_urls=["postgresql://h/db"]))
    primary = "postgresql://postgres@127.0.0.1/quhua"
    with pytest.raises(ValueError, match=r"'sqlite:///copy.sqlite3' is no PostgreSQL URL"):
        create_app(Settings(database_url=primary, read_replica_urls=["sqlite:///copy.sqlite3"]))
