"""Running `quhua` commands as separate processes, the way users and deployments do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def quhua_server(
    *args: str, folder: Path, env: dict[str, str], timeout: float = 120
) -> Iterator[Server]:
    """`quhua ARGS --port P` in its own process, until it answers /healthz; then stopped."""
    port = free_port()
    log = folder / f"quhua-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "quhua", *args, "--port", str(port)],
            cwd=folder,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"quhua {' '.join(args)} did not start:\n{server.output()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
