"""GraphiQL works with no internet access: every file it loads comes from the app itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Request, Route, expect
from starlette.testclient import TestClient

from quhua.app import create_app
from quhua.settings import Settings
from tests.browser import chromium_browser
from tests.conftest import TOKENS, client_for
from tests.processes import quhua_server

ROOT = Path(__file__).parent.parent
SHIPPED = ROOT / "quhua" / "static" / "graphiql"
SCREENSHOT = ROOT / "var" / "graphiql.png"

# The one backend is enough: the page and its files do not depend on the database.
sqlite_only = pytest.mark.parametrize("ningxia_url", ["sqlite"], indirect=True)

URL = re.compile(r"https?://[^\s\"'`<>()\\]*")
# A URL that is a whole string literal of a script could be fetched as it stands; those in
# longer strings are words of a message or a comment. Each one here is only text:
WHOLE_URLS_IN_SCRIPTS = {
    "http://www.w3.org/2000/svg",  # XML namespace of the elements React creates
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1998/Math/MathML",
    "http://www.w3.org/XML/1998/namespace",
    "https://github.com/graphql/graphiql",  # the logo's link, followed only by a click
    "https://codemirror.net/5/doc/manual.html#keymaps",  # a link in the settings dialog
    "https://www.onegraph.com",  # the explorer's credits
    "https://github.com/OneGraph/graphiql-explorer",
    "https://reactjs.org/docs/error-decoder.html?invariant=",  # text of React's errors
    "https://github.com/graphql/graphiql/blob/master/examples/graphiql-cdn/index.html#L49",
    "https://reactjs.org/link/strict-mode-string-ref",  # links in warnings
    "http://json-schema.org/draft-04/schema",  # the $schema of the variables' JSON Schema
    "http://",  # markdown-it's link scheme
    "http://foo?bar",  # URL parsers' bases and probes
    "http://example.org:foo",
    "http://host/",
    "https://host/",
}
CDN_HOSTS = (
    "unpkg.com",
    "cdn.jsdelivr.net",
    "cdnjs.cloudflare.com",
    "esm.sh",
    "cdn.skypack.dev",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
)


def served(client: TestClient) -> tuple[str, dict[str, str]]:
    """GraphiQL's page as a browser gets it, and each file it loads by its path."""
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = {}
    for reference in re.findall(r'(?:src|href)="([^"]*)"', page.text):
        if reference.startswith("data:"):
            continue
        assert reference.startswith("/static/graphiql/"), reference
        response = client.get(reference)
        assert response.status_code == 200, reference
        assets[reference] = response.text
    return page.text, assets


def foreign_urls(text: str) -> list[str]:
    """The http(s) URLs of a page or a style sheet, other than XML namespaces."""
    return [url for url in URL.findall(text) if not url.startswith("http://www.w3.org/")]


@sqlite_only
def test_the_page_and_its_files_name_no_other_host(ningxia_url: str) -> None:
    with client_for(ningxia_url) as client:
        page, assets = served(client)
    shipped = {
        f"/static/graphiql/{path.relative_to(SHIPPED)}"
        for path in SHIPPED.rglob("*")
        if path.suffix in {".js", ".css"}
    }
    assert set(assets) == shipped, "every shipped script and style sheet is loaded, and no other"
    assert foreign_urls(page) == []
    assert not re.search(r'(?:src|href)="//', page)
    for path, text in assets.items():
        for host in CDN_HOSTS:
            assert host not in text, f"{path} names {host}"
        for source_map in re.findall(r"sourceMappingURL=(\S+)", text):
            assert not urlsplit(source_map).netloc, f"{path}: source map {source_map}"
        if path.endswith(".css"):
            assert foreign_urls(text) == [], path
            assert "@import" not in text, path
            for target in re.findall(r"url\(\s*['\"]?([^'\")]*)", text):
                assert target.startswith("data:"), f"{path}: url({target[:40]})"
        else:
            literals = {m[2] for m in re.finditer(r"([\"'`])(https?://[^\"'`\\\s]*)\1", text)}
            assert literals <= WHOLE_URLS_IN_SCRIPTS, f"{path}: {literals - WHOLE_URLS_IN_SCRIPTS}"


@sqlite_only
def test_the_page_follows_the_apps_root(ningxia_url: str) -> None:
    """Behind a proxy that serves the app under a prefix, the files are asked for under it."""
    app = create_app(Settings(database_url=ningxia_url))
    with TestClient(app, root_path="/quhua") as client:
        page = client.get("/quhua/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    references = re.findall(r'src="([^"]*)"', page.text)
    assert references
    assert all(reference.startswith("/quhua/static/graphiql/") for reference in references)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser() as browser:
        yield browser


@sqlite_only
def test_graphiql_runs_a_query_in_a_browser_cut_off_from_other_hosts(
    ningxia_url: str, chromium: Browser, tmp_path: Path
) -> None:
    with quhua_server("serve", folder=tmp_path, env={"QUHUA_DATABASE_URL": ningxia_url}) as server:
        ours = urlsplit(server.base).netloc
        foreign: list[str] = []
        posted: list[Request] = []

        def only_ours(route: Route) -> None:
            if urlsplit(route.request.url).netloc == ours:
                route.continue_()
            else:
                foreign.append(route.request.url)
                route.abort("internetdisconnected")

        context = chromium.new_context(viewport={"width": 1400, "height": 900})
        try:
            context.route("**/*", only_ours)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "request",
                lambda request: posted.append(request) if request.method == "POST" else None,
            )
            page.goto(f"{server.base}/graphql", wait_until="networkidle")
            assert foreign == [], "the page asked another host"
            editor = page.locator(".graphiql-query-editor .CodeMirror")
            expect(editor).to_be_visible(timeout=30_000)

            page.get_by_role("button", name="Headers").click()
            page.locator(".graphiql-editor-tool .CodeMirror:visible").click()
            page.keyboard.insert_text(f'{{"Authorization": "Bearer {TOKENS[ningxia_url]}"}}')

            editor.click()
            page.keyboard.press("ControlOrMeta+a")
            page.keyboard.insert_text('{ jurisdiction(code: "640104") { name } }')
            page.locator(".graphiql-execute-button").click()

            response = page.locator(".graphiql-response")
            expect(response).to_contain_text("兴庆区", timeout=30_000)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=SCREENSHOT)
        finally:
            context.close()

    assert foreign == [], "the page asked another host"
    assert errors == []
    asked = [request for request in posted if request.post_data_json.get("operationName") is None]
    assert asked, "GraphiQL sent the query"
    assert asked[-1].url == f"{server.base}/graphql"
    assert asked[-1].headers["authorization"] == f"Bearer {TOKENS[ningxia_url]}"
