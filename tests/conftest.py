"""Fixtures: real SQLite and PostgreSQL databases, the real Ningxia tree, the ASGI app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine, event
from starlette.testclient import TestClient

from quhua.app import create_app
from quhua.settings import Settings
from tests.browser import chromium_browser
from tests.console_pages import people
from tests.databases import (
    BACKENDS,
    cloned_database,
    fresh_database,
    issue_token,
    load_catalogue,
    load_tree,
    upgrade,
)
from tests.scoping import ScopeGuard


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend, dropped after the test."""
    with fresh_database(backend, tmp_path) as url:
        yield url


class Templates:
    """Prepared databases, each made once per test process; tests get copies of their own
    (a file copy, or CREATE DATABASE … TEMPLATE), so that none pays for the migrations,
    the tree or the catalogue again and none sees another's writes."""

    STAGES = ("schema", "tree", "catalogue")

    def __init__(self, stack: ExitStack, folder: Path) -> None:
        self._stack = stack
        self._folder = folder
        self._urls: dict[tuple[str, str], str] = {}

    def url(self, backend: str, stage: str) -> str:
        """The template at `stage`: the newest schema, then the Ningxia tree, then the
        shipped catalogue (each stage holds the ones before it)."""
        key = (backend, stage)
        if key not in self._urls:
            url = self._stack.enter_context(fresh_database(backend, self._folder))
            upgrade(url)
            if self.STAGES.index(stage) >= 1:
                load_tree(url)
            if self.STAGES.index(stage) >= 2:
                load_catalogue(url)
            self._urls[key] = url
        return self._urls[key]


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    with ExitStack() as stack:
        yield Templates(stack, tmp_path_factory.mktemp("templates"))


@pytest.fixture
def migrated_url(backend: str, templates: Templates, tmp_path: Path) -> Iterator[str]:
    """A database of its own at the newest schema, with no data."""
    with cloned_database(templates.url(backend, "schema"), tmp_path) as url:
        yield url


@pytest.fixture
def ningxia_tree_url(backend: str, templates: Templates, tmp_path: Path) -> Iterator[str]:
    """A database of its own with the Ningxia tree (as loaded on 2023-06-30)."""
    with cloned_database(templates.url(backend, "tree"), tmp_path) as url:
        yield url


@pytest.fixture
def catalogue_url(backend: str, templates: Templates, tmp_path: Path) -> Iterator[str]:
    """A database of its own with the Ningxia tree and the shipped catalogue."""
    with cloned_database(templates.url(backend, "catalogue"), tmp_path) as url:
        yield url


@pytest.fixture(scope="session", params=BACKENDS)
def ningxia_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database holding the real Ningxia tree, shared read-only by the tests of a session.

    Its administrator `ningxia-admin` (admin at 64) has the token in NINGXIA_ADMIN_TOKEN.
    """
    with fresh_database(str(request.param), tmp_path_factory.mktemp("ningxia")) as url:
        upgrade(url)
        load_tree(url)
        TOKENS[url] = issue_token(url, "ningxia-admin", "admin", "64")
        yield url


TOKENS: dict[str, str] = {}


def client_for(url: str, token: str | None = None, **settings: Any) -> TestClient:
    """A client of the app over the database, as the token's subject (settings as given)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(create_app(Settings(database_url=url, **settings)), headers=headers)


@pytest.fixture
def ningxia_client(ningxia_url: str) -> Iterator[TestClient]:
    """A client of the Ningxia database, as its province administrator."""
    with client_for(ningxia_url, TOKENS[ningxia_url]) as client:
        yield client


def graphql(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST a GraphQL request; return the whole response body."""
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data_of(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST a GraphQL request that must succeed; return its data."""
    body = graphql(client, query, **variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


class StatementCounter:
    """Counts the SQL statements that GraphQL requests send while it is active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(
        self, _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: Any
    ) -> None:
        if context is not None and context.execution_options.get("quhua_request"):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture(autouse=True)
def every_request_is_scoped() -> Iterator[ScopeGuard]:
    """Fails any test during which a request read or wrote scoped tables without a Scope."""
    guard = ScopeGuard()
    event.listen(Engine, "before_execute", guard)
    try:
        yield guard
    finally:
        event.remove(Engine, "before_execute", guard)
    assert guard.violations == [], guard.violations


@pytest.fixture
def sql_statements() -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(Engine, "before_cursor_execute", counter)


@pytest.fixture
def chromium() -> Iterator[Browser]:
    """Headless Chromium for one test: a module's world is set up with no event loop
    running, which Playwright's would be."""
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def person(world: dict[str, str]) -> Iterator[Callable[[str], TestClient]]:
    """The console signed in as one of the module's world's people (`world[who]` is the
    token), closed after the test."""
    yield from people(world)
