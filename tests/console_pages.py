"""The console as the tests drive it: a client of the app with a console secret, its forms'
CSRF tokens, signing in, and people signed in for one test."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page
from starlette.testclient import TestClient

from quhua.app import create_app
from quhua.settings import Settings
from tests.processes import Server, quhua_server

SCREENSHOTS = Path(__file__).parent.parent / "var" / "screenshots"
SECRET = "s" * 40


def console_client(world: dict[str, str], **settings: Any) -> TestClient:
    app = create_app(Settings(database_url=world["url"], console_secret=SECRET, **settings))
    return TestClient(app, follow_redirects=False)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has a form with a CSRF token"
    return found[1]


def sign_in(client: TestClient, token: str) -> None:
    page = client.get("/")
    assert page.status_code == 200
    signed = client.post("/console/sign-in", data={"token": token, "csrf": csrf_of(page.text)})
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == "/"


def people(world: dict[str, str]) -> Iterator[Callable[[str], TestClient]]:
    """A console signed in with one of the world's tokens (by its key), per call; every
    one closed at the end."""
    with ExitStack() as stack:

        def signed_in(who: str) -> TestClient:
            client = stack.enter_context(console_client(world))
            sign_in(client, world[who])
            return client

        yield signed_in


@contextmanager
def browser_session(
    chromium: Browser, base: str, token: str, problems: list[str]
) -> Iterator[Page]:
    """A browser context of its own, signed in to the console at `base` with the token;
    every script error and Content-Security-Policy violation is noted in `problems`."""
    context = chromium.new_context(viewport={"width": 1300, "height": 900})
    try:
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"{error}\n{error.stack}"))
        page.goto(base + "/")
        page.fill("#token", token)
        page.click("button[type=submit] >> text=登录")
        page.wait_for_selector('[data-testid="viewer"]')
        yield page
    finally:
        context.close()


def served(
    world: dict[str, str], folder: Path, env: dict[str, str] | None = None
) -> AbstractContextManager[Server]:
    """`quhua serve` over the world's database (and more settings), in a process of its own."""
    settings = {"QUHUA_DATABASE_URL": world["url"], "QUHUA_DATA_DIR": str(folder), **(env or {})}
    return quhua_server("serve", folder=folder, env=settings)


def backend_of(world: dict[str, str]) -> str:
    return "postgresql" if world["url"].startswith("postgresql") else "sqlite"
