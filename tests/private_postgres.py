"""A PostgreSQL cluster of a test's own, on a port of its own, to stop and start at will:
the machine's shared cluster serves every other test running meanwhile."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.processes import free_port


def _binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else the newest Debian/Ubuntu install."""
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    return Path(found[-1]).parent if found else None


def _major(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0


def _cannot(reason: str) -> NoReturn:
    """A machine that cannot run a private cluster skips the test, except in CI, where the
    machine is known to have PostgreSQL's server: there a skip would hide a lost check."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


def _as_owner() -> list[str]:
    """The prefix that runs a server command as a user PostgreSQL accepts: initdb and
    postgres refuse to run as root, so root runs them as `postgres`."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        _cannot("running as root without runuser: cannot start PostgreSQL as postgres")
    try:
        subprocess.run(["id", "-u", "postgres"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        _cannot("running as root and there is no postgres user to run PostgreSQL as")
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PrivatePostgres:
    bin: Path
    folder: Path
    port: int
    owner: list[str]
    running: bool = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.owner, str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._ctl("-o", options, "-l", log, "-w", "-t", "60", "start")
        self.running = True

    def stop(self) -> None:
        """A fast shutdown: open sessions are ended and their transactions rolled back."""
        self._ctl("-m", "fast", "-w", "-t", "60", "stop")
        self.running = False


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh cluster (trust authentication, superuser postgres), started; removed after.
    Skips the test when the PostgreSQL server binaries are not installed."""
    found = _binaries()
    if found is None:
        _cannot("no PostgreSQL server binaries (initdb, pg_ctl): cannot start a cluster")
    owner = _as_owner()
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="quhua-pg-"))
    if owner:
        shutil.chown(folder, user="postgres")
    cluster = PrivatePostgres(found, folder, free_port(), owner)
    try:
        subprocess.run(
            [
                *(*owner, str(found / "initdb"), "-D", str(folder / "data")),
                *("-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"),
            ],
            check=True,
            capture_output=True,
        )
        cluster.start()
        try:
            yield cluster
        finally:
            if cluster.running:
                cluster.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
