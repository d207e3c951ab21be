"""A live `quhua serve` over SQLite with the Ningxia tree, for clients nobody here wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.databases import ningxia_world
from tests.processes import Server, quhua_server


@dataclass(frozen=True)
class LiveServer:
    server: Server
    # The province administrator's token (admin at 64).
    token: str

    @property
    def graphql_url(self) -> str:
        return f"{self.server.base}/graphql"


@contextmanager
def ningxia_server(folder: Path, administrator: str) -> Iterator[LiveServer]:
    """`quhua serve` on a real socket over a SQLite database of its own holding the Ningxia
    tree and the shipped catalogue, with a province administrator of this name."""
    with (
        ningxia_world("sqlite", folder, administrator) as (url, token),
        quhua_server("serve", folder=folder, env={"QUHUA_DATABASE_URL": url}) as server,
    ):
        yield LiveServer(server, token)
