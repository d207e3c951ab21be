"""SQLite with two writing processes: `quhua values import` while the server takes
submitValues. Each waits for the other's write lock (busy timeout, BEGIN IMMEDIATE in
core/db/engine.py) and succeeds: never "database is locked"."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import httpx2 as httpx

from quhua.synthetic import generate, write_csv
from tests.databases import ningxia_world
from tests.processes import quhua_server
from tests.stored_values import SEED, snapshot, verified, villages

SUBMIT = """mutation($value: Float!) { submitValues(reason: "beside an import", input: [{
  jurisdiction: "640104001002", element: "births", period: "2025-06",
  disaggregation: "sex=male;parity=1", value: $value }]) { ok errors { code message } } }"""


def test_an_import_and_the_server_write_the_same_sqlite_file(tmp_path: Path) -> None:
    with ningxia_world("sqlite", tmp_path, "writers-admin") as (url, token):
        month = tmp_path / "2025-01.csv"
        rows = generate(villages(url), first_year=2025, years=1, seed=SEED, only=["2025-01"])
        count = write_csv(rows, month)
        answers: list[dict[str, object]] = []
        during: list[bool] = []
        command = [sys.executable, "-m", "quhua", "values", "import", str(month)]
        env = {"QUHUA_DATABASE_URL": url}
        with quhua_server("serve", folder=tmp_path, env=env) as server:
            importer: subprocess.Popen[bytes] | None = None
            started = threading.Event()

            def submit() -> None:
                headers = {"Authorization": f"Bearer {token}"}
                with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
                    value = 0
                    while importer is None or importer.poll() is None or value < 5:
                        value += 1
                        body = {"query": SUBMIT, "variables": {"value": float(value)}}
                        running = importer is not None and importer.poll() is None
                        answers.append(client.post("/graphql", json=body).json())
                        during.append(running)
                        started.set()

            writer = threading.Thread(target=submit)
            writer.start()
            started.wait(timeout=60)
            with (tmp_path / "import.log").open("wb") as log:
                importer = subprocess.Popen(
                    [*command, "--database-url", url], stdout=log, stderr=subprocess.STDOUT
                )
            importer.wait(timeout=300)
            writer.join(timeout=300)
        output = (tmp_path / "import.log").read_text()
        assert importer.returncode == 0, output
        assert "locked" not in output
        assert all(
            answer == {"data": {"submitValues": {"ok": True, "errors": []}}} for answer in answers
        ), [answer for answer in answers if "errors" in answer or "data" not in answer][:3]
        # Writes were sent while the import held the write lock: they waited, then went in.
        assert any(during), "no submitValues overlapped the import"
        values, _total, _changes = snapshot(url)
        assert values == count + 1
        verified(url)
