"""PostgreSQL restarted under load: requests fail with a retryable 503, then succeed again,
with the same server process (a private cluster, tests/private_postgres.py)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

from tests.databases import issue_token, load_catalogue, load_tree, upgrade
from tests.private_postgres import private_postgres
from tests.processes import quhua_server
from tests.stored_values import verified

READ = '{ jurisdiction(code: "640104") { code name children(first: 5) { totalCount } } }'
WRITE = """mutation($value: Float!) { submitValues(reason: "restart", input: [{
  jurisdiction: "640104001002", element: "births", period: "2025-01",
  disaggregation: "sex=male;parity=1", value: $value }]) { ok } }"""
CLIENTS = 4


@dataclass
class Answers:
    """What the clients were answered, as (status, code) pairs, while the test watched."""

    seen: Counter[tuple[int, str]] = field(default_factory=Counter)
    # Answers that are neither a success nor the retryable refusal, in full.
    wrong: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, answer: httpx.Response) -> None:
        body = answer.json()
        errors = body.get("errors") or []
        code = errors[0]["extensions"]["code"] if errors else "ok"
        retryable = (
            answer.status_code == 503
            and code == "DATABASE_UNAVAILABLE"
            and answer.headers.get("retry-after", "").isdigit()
        )
        with self.lock:
            self.seen[answer.status_code, code] += 1
            if not retryable and (answer.status_code, code) != (200, "ok"):
                self.wrong.append(f"{answer.status_code} {answer.headers} {answer.text[:400]}")

    def count(self, status: int, code: str) -> int:
        with self.lock:
            return self.seen[status, code]


def _client(base: str, token: str, number: int, answers: Answers, stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        sent = 0
        while not stop.is_set():
            sent += 1
            # One write in four: reads and writes both meet the outage.
            if sent % 4 == number % 4:
                body = {"query": WRITE, "variables": {"value": float(sent % 97 + 1)}}
            else:
                body = {"query": READ}
            try:
                answer = client.post("/graphql", json=body)
            except httpx.TransportError as error:
                # The server must answer throughout, refusing if it must.
                with answers.lock:
                    answers.wrong.append(f"{type(error).__name__}: {error}")
                continue
            answers.note(answer)


def _wait_for(what: str, ready: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_requests_fail_retryably_while_postgres_restarts_and_recover(tmp_path: Path) -> None:
    with private_postgres() as cluster:
        url = cluster.url
        upgrade(url)
        load_tree(url)
        load_catalogue(url)
        token = issue_token(url, "restart-admin", "admin", "64")
        env = {"QUHUA_DATABASE_URL": url}
        with quhua_server("serve", folder=tmp_path, env=env) as server:
            answers = Answers()
            stop = threading.Event()
            clients = [
                threading.Thread(target=_client, args=(server.base, token, n, answers, stop))
                for n in range(CLIENTS)
            ]
            for client in clients:
                client.start()
            try:
                _wait_for("answers before the restart", lambda: answers.count(200, "ok") >= 20)
                cluster.stop()
                _wait_for(
                    "a retryable refusal while PostgreSQL is down",
                    lambda: answers.count(503, "DATABASE_UNAVAILABLE") >= 10,
                )
                health = httpx.get(f"{server.base}/healthz", timeout=30)
                cluster.start()
                before = answers.count(200, "ok")
                _wait_for(
                    "answers after the restart", lambda: answers.count(200, "ok") >= before + 20
                )
            finally:
                stop.set()
                for client in clients:
                    client.join(timeout=60)
            # The same process answered throughout: it recovered without a restart.
            assert server.process.poll() is None, server.output()
            assert health.status_code == 503, health.text
            assert health.json()["errors"][0]["extensions"]["code"] == "DATABASE_UNAVAILABLE"
        assert answers.wrong == [], answers.wrong[:5]
        assert answers.count(200, "ok") >= 40, answers.seen
        # Writes cut off by the stop were undone whole: the store still equals its values.
        verified(url)
