"""The GraphQL-over-HTTP spec, as the graphql-http package's audit checks it on a live server.

The audit is the reference implementation's own (npm `graphql-http`, `serverAudits`), run by
node against `quhua serve`: every MUST, SHOULD and MAY it knows must pass.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveServer, ningxia_server

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).with_name("graphql_http_audit.mjs")
# The audit's package and the graphql it needs, pinned: a new release may add audits.
PACKAGES = {"graphql-http": "1.23.1", "graphql": "16.15.0"}
# The project's own npm folder (under the gitignored var/), reused between runs.
PREFIX = ROOT / "var" / "npm"


def _installed(name: str) -> str | None:
    manifest = PREFIX / "node_modules" / name / "package.json"
    if not manifest.exists():
        return None
    version: str = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    return version


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"`{name}` is not on PATH: the GraphQL-over-HTTP audit runs under Node.js 18 or"
            f" newer (Debian/Ubuntu: apt-get install nodejs npm)"
        )
    return found


def audit_package() -> Path:
    """The folder holding the pinned graphql-http, installed there with npm if it is not."""
    if all(_installed(name) == version for name, version in PACKAGES.items()):
        return PREFIX
    PREFIX.mkdir(parents=True, exist_ok=True)
    specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
    command = [_tool("npm"), "install", "--prefix", str(PREFIX), "--save-exact"]
    installed = subprocess.run(
        [*command, "--no-audit", "--no-fund", *specs],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, f"npm install {' '.join(specs)} failed:\n{installed.stderr}"
    return PREFIX


def run_audit(live: LiveServer, *, token: str | None) -> list[dict[str, Any]]:
    """The audit's results against the server, as the given token (or none)."""
    environment = {**os.environ, "QUHUA_AUDIT_TOKEN": token or ""}
    ran = subprocess.run(
        [_tool("node"), str(SCRIPT), str(audit_package()), live.graphql_url],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, f"the audit script failed:\n{ran.stderr}"
    results: list[dict[str, Any]] = json.loads(ran.stdout)
    return results


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with ningxia_server(tmp_path_factory.mktemp("graphql-http"), "audit-admin") as server:
        yield server


def _failures(results: list[dict[str, Any]]) -> list[str]:
    return [
        f"{r['id']} {r['status']}: {r['name']} ({r['reason']})"
        for r in results
        if r["status"] != "ok"
    ]


def test_every_audit_passes_for_a_signed_in_caller(live: LiveServer) -> None:
    results = run_audit(live, token=live.token)
    levels = collections.Counter(r["name"].split(" ", 1)[0] for r in results)
    # The pinned package's audits: a script that ran none would pass anything.
    assert levels == {"MUST": 13, "SHOULD": 23, "MAY": 25}
    assert _failures(results) == []


def test_every_audit_passes_for_an_anonymous_caller(live: LiveServer) -> None:
    """Without a token the schema still answers `__typename` and introspection."""
    results = run_audit(live, token=None)
    assert _failures(results) == []
