"""The web console at `/`: sign-in and sign-out, its cookie and CSRF, the dashboard's figures
as GraphQL gives them, scope, language, assets from this app only, and a real browser."""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Route, expect
from starlette.testclient import TestClient

from quhua.app import create_app
from quhua.console.messages import MESSAGES
from quhua.console.secret import SECRET_FILE, console_secret
from quhua.console.session_cookie import COOKIE
from quhua.settings import Settings
from quhua.synthetic import generate, write_csv
from tests.cli import quhua
from tests.conftest import data_of
from tests.console_pages import SCREENSHOTS, SECRET, console_client, csrf_of, sign_in
from tests.databases import issue_token, ningxia_world
from tests.processes import quhua_server

ROOT = Path(__file__).parent.parent
VILLAGE = "640104001002"  # 崇安社区, the demo's village reporter's
NEIGHBOUR = "640104001003"  # 兴隆社区, in the same street office
CITIES = ["6401", "6402", "6403", "6404", "6405"]


def _sample_villages(tree_codes: list[str]) -> list[str]:
    """Every village of one street office and the first three of every county."""
    taken: dict[str, int] = {}
    sample = []
    for code in tree_codes:
        county = code[:6]
        if code.startswith("640104001") or taken.get(county, 0) < 3:
            taken[county] = taken.get(county, 0) + 1
            sample.append(code)
    return sample


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Ningxia with two years (2024, 2025) of synthetic reports of a sample of villages, and
    the tokens of the province's administrator, a city viewer and a village reporter."""
    folder = tmp_path_factory.mktemp("console")
    with ningxia_world(str(request.param), folder, "ningxia-admin") as (url, admin):
        tree = (ROOT / "quhua" / "data" / "divisions_2023_ningxia.csv").read_text("utf-8")
        villages = [
            line.split(",")[0] for line in tree.splitlines() if len(line.split(",")[0]) == 12
        ]
        values = folder / "values.csv"
        write_csv(generate(_sample_villages(villages), first_year=2024, years=2, seed=7), values)
        imported = quhua("values", "import", str(values), url=url)
        assert imported.exit_code == 0, imported.stdout + imported.stderr
        yield {
            "url": url,
            "admin": admin,
            "city": issue_token(url, "yinchuan-viewer", "viewer", "6401"),
            "village": issue_token(url, "chongan-reporter", "reporter", VILLAGE),
            "backend": str(request.param),
        }


def set_cookie_header(response: Any) -> dict[str, str]:
    """The attributes of the session cookie the response sets, lower-cased names."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{COOKIE}="):
            parts = [part.strip() for part in header.split(";")]
            attributes = {p.split("=", 1)[0].lower(): p.split("=", 1)[-1] for p in parts[1:]}
            return {"value": parts[0].split("=", 1)[1], **attributes}
    raise AssertionError(f"no {COOKIE} cookie set: {response.headers.get_list('set-cookie')}")


def grid_of(page: str) -> dict[str, list[str]]:
    """The grid's rows: each unit's code to the text of its cells."""
    rows = {}
    for code, row in re.findall(r'<tr data-code="(\d+)">(.*?)</tr>', page, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        rows[code] = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]
    return rows


def chart_of(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="trend-data">(.*?)</script>', page, re.S)
    assert found, "the dashboard embeds its chart's data"
    data: dict[str, Any] = json.loads(found[1])
    return data


def operations(response: Any) -> int:
    found = re.search(
        r'graphql;dur=[\d.]+;desc="(\d+) operations"', response.headers["server-timing"]
    )
    assert found, response.headers.get("server-timing")
    return int(found[1])


def test_signed_out_the_root_is_the_sign_in_page(world: dict[str, str]) -> None:
    with console_client(world) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert 'action="/console/sign-in"' in page.text
        assert "登录" in page.text
        cookie = set_cookie_header(page)
        assert "httponly" in cookie
        assert cookie["samesite"].lower() == "strict"
        assert "secure" not in cookie, "over plain http a Secure cookie would never come back"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        # GraphiQL stays where it was.
        assert client.get("/graphql", headers={"accept": "text/html"}).status_code == 200
    with TestClient(
        create_app(Settings(database_url=world["url"], console_secret=SECRET)),
        base_url="https://console.example",
    ) as client:
        assert "secure" in set_cookie_header(client.get("/"))


def test_sign_in_shows_the_dashboard_and_sign_out_ends_it(world: dict[str, str]) -> None:
    with console_client(world) as client:
        visitor = client.get("/")
        visitor_cookie = set_cookie_header(visitor)["value"]
        signed = client.post(
            "/console/sign-in", data={"token": world["admin"], "csrf": csrf_of(visitor.text)}
        )
        assert signed.status_code == 303
        session = set_cookie_header(signed)
        assert session["value"] != visitor_cookie
        assert "httponly" in session
        assert session["samesite"].lower() == "strict"
        # The token travels only in the HttpOnly cookie, never in a page.
        board = client.get("/")
        assert board.status_code == 200
        assert world["admin"] not in board.text
        assert 'data-testid="viewer">ningxia-admin<' in board.text
        assert "宁夏回族自治区" in board.text
        out = client.post("/console/sign-out", data={"csrf": csrf_of(board.text)})
        assert out.status_code == 303
        cleared = set_cookie_header(out)
        assert cleared["value"] in {"", '""'}
        assert cleared["max-age"] == "0"
        assert 'action="/console/sign-in"' in client.get("/").text
        # A copy of the cookie taken before sign-out is refused as well, though its
        # token is still good, and its refusal hands out a visitor's session in its place.
        client.cookies.clear()
        client.cookies.set(COOKIE, session["value"])
        copied = client.get("/")
        assert copied.status_code == 401
        assert MESSAGES["session_ended"][0] in copied.text
        assert "宁夏回族自治区" not in copied.text
        assert set_cookie_header(copied)["value"] != session["value"]
        # The token signs in again, in a session of its own.
        sign_in(client, world["admin"])
        assert "宁夏回族自治区" in client.get("/").text


def test_a_bad_token_is_refused_on_the_page(world: dict[str, str]) -> None:
    with console_client(world) as client:
        page = client.get("/")
        for token, message in (("qh_not-a-token", "token_refused"), ("  ", "token_missing")):
            refused = client.post(
                "/console/sign-in", data={"token": token, "csrf": csrf_of(page.text)}
            )
            assert refused.status_code in {400, 401}
            assert MESSAGES[message][0] in refused.text
            assert COOKIE not in "".join(refused.headers.get_list("set-cookie"))


def test_a_post_without_the_sessions_csrf_token_is_refused(world: dict[str, str]) -> None:
    with console_client(world) as client, console_client(world) as other:
        page = client.get("/")
        elsewhere = csrf_of(other.get("/").text)
        for form in (
            {"token": world["admin"]},
            {"token": world["admin"], "csrf": ""},
            {"token": world["admin"], "csrf": "forged"},
            {"token": world["admin"], "csrf": elsewhere},
        ):
            refused = client.post("/console/sign-in", data=form)
            assert refused.status_code == 403, form
            assert MESSAGES["csrf_refused"][0] in refused.text
        assert 'action="/console/sign-in"' in client.get("/").text, "still signed out"

        sign_in(client, world["admin"])
        board = client.get("/").text
        for form in ({}, {"csrf": "forged"}, {"csrf": elsewhere}, {"csrf": csrf_of(page.text)}):
            assert client.post("/console/sign-out", data=form).status_code == 403, form
        assert "宁夏回族自治区" in client.get("/").text, "still signed in"
        assert client.post("/console/sign-out", data={"csrf": csrf_of(board)}).status_code == 303


def test_a_forged_cookie_is_a_visitors(world: dict[str, str]) -> None:
    with console_client(world) as client:
        sign_in(client, world["admin"])
        value = client.cookies[COOKIE]
        # Sealed: a copy of the cookie shows no token, whichever way it is decoded.
        opened = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        assert world["admin"].encode() not in opened
        assert world["admin"][3:20].encode() not in opened
        # One character changed anywhere, or a cookie of a session never sealed: a visitor.
        for forged in (value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1], value[5:]):
            client.cookies.clear()
            client.cookies.set(COOKIE, forged)
            assert 'action="/console/sign-in"' in client.get("/").text
        client.cookies.clear()
        unsealed = base64.urlsafe_b64encode(
            json.dumps({"n": "x", "t": world["admin"], "i": int(time.time())}).encode()
        ).decode()
        client.cookies.set(COOKIE, unsealed)
        assert 'action="/console/sign-in"' in client.get("/").text
    with TestClient(
        create_app(Settings(database_url=world["url"], console_secret="k" * 40)),
        follow_redirects=False,
    ) as other:
        other.cookies.set(COOKIE, value)
        assert 'action="/console/sign-in"' in other.get("/").text, "another key, another console"


def test_the_dashboard_shows_what_graphql_answers(world: dict[str, str]) -> None:
    with console_client(world) as client:
        sign_in(client, world["admin"])
        board = client.get("/", params={"unit": "64", "year": "2025", "kind": "year"})
        assert board.status_code == 200
        assert operations(board) == 2, "the viewer and catalogue, then the dashboard"
        client.headers["Authorization"] = f"Bearer {world['admin']}"
        api = data_of(
            client,
            """{ catalogue { indicators { code } }
                 rollup(under: "64", level: CITY, period: "2025",
                        indicators: ["birth_defect_rate", "birth_rate"]) {
                   codes names columns { values reportingUnits expectedUnits } }
                 series(code: "64", indicator: "birth_rate", from: "2025-01", to: "2025-12") {
                   values } }""",
        )
        del client.headers["Authorization"]
    grid = grid_of(board.text)
    assert list(grid) == CITIES == api["rollup"]["codes"]
    columns = re.findall(r'<th scope="col">([^<]*)', board.text)[1:]
    assert len(columns) == len(api["catalogue"]["indicators"]), "every indicator, one column each"
    for i, code in enumerate(CITIES):
        births = api["rollup"]["columns"][0]
        value = births["values"][i]
        assert value is not None
        assert (
            grid[code][0]
            == f"{value:,.2f} {births['reportingUnits'][i]}/{births['expectedUnits'][i]}"
        )
        deaths = api["rollup"]["columns"][1]
        assert grid[code][1].endswith(f"{deaths['reportingUnits'][i]}/{deaths['expectedUnits'][i]}")
    for name in api["rollup"]["names"]:
        assert f">{name}</a>" in board.text, "each city links to its own dashboard"
    chart = chart_of(board.text)
    assert chart["series"][0]["year"] == 2025
    assert chart["series"][1]["year"] == 2024
    assert chart["series"][0]["values"] == api["series"]["values"]
    assert all(v is not None for v in chart["series"][1]["values"])


def test_a_statistical_year_is_its_own_twelve_months(world: dict[str, str]) -> None:
    """2025FP: October 2024 to September 2025 (the shipped catalogue's statistical year), in
    the grid and in the chart, as GraphQL answers for it."""
    with console_client(world) as client:
        sign_in(client, world["admin"])
        board = client.get("/", params={"unit": "64", "year": "2025", "kind": "fp"})
        assert board.status_code == 200, board.text
        client.headers["Authorization"] = f"Bearer {world['admin']}"
        api = data_of(
            client,
            """{ catalogue { indicators { code } }
                 rollup(under: "64", level: CITY, period: "2025FP", indicators: ["birth_rate"]) {
                   columns { values } }
                 thisYear: series(code: "64", indicator: "birth_rate", from: "2024-10",
                                  to: "2025-09") { values }
                 lastYear: series(code: "64", indicator: "birth_rate", from: "2023-10",
                                  to: "2024-09") { values } }""",
        )
        del client.headers["Authorization"]
    assert '<option value="fp" selected>' in board.text
    chart = chart_of(board.text)
    assert chart["months"] == ["10", "11", "12", *map(str, range(1, 10))]
    assert chart["series"][0]["values"] == api["thisYear"]["values"]
    assert chart["series"][1]["values"] == api["lastYear"]["values"]
    column = [i["code"] for i in api["catalogue"]["indicators"]].index("birth_rate")
    grid = grid_of(board.text)
    for i, code in enumerate(CITIES):
        assert grid[code][column].startswith(f"{api['rollup']['columns'][0]['values'][i]:,.2f}")


def test_the_treemap_sizes_by_population_and_colours_by_the_indicator(
    world: dict[str, str],
) -> None:
    with console_client(world) as client:
        sign_in(client, world["admin"])
        board = client.get(
            "/", params={"unit": "64", "year": "2025", "kind": "year", "indicator": "death_rate"}
        )
        assert board.status_code == 200, board.text
        assert operations(board) == 2, "the treemap rides in the dashboard's operation"
        client.headers["Authorization"] = f"Bearer {world['admin']}"
        api = data_of(
            client,
            """{ rollup(under: "64", level: CITY, period: "2025", elements: ["population"],
                        indicators: ["death_rate"]) { codes names columns { code values } } }""",
        )["rollup"]
        del client.headers["Authorization"]
    found = re.search(
        r'<script type="application/json" id="treemap-data">(.*?)</script>', board.text, re.S
    )
    assert found, "the dashboard embeds its treemap's data"
    treemap = json.loads(found[1])
    by_code = {column["code"]: column["values"] for column in api["columns"]}
    assert [node["code"] for node in treemap["nodes"]] == api["codes"] == CITIES
    assert [node["name"] for node in treemap["nodes"]] == api["names"]
    assert [node["size"] for node in treemap["nodes"]] == by_code["population"]
    assert [node["figure"] for node in treemap["nodes"]] == by_code["death_rate"]
    assert treemap["link"] == ["/?unit=", "&year=2025&kind=year&indicator=death_rate"]


def test_the_grid_sorts_by_a_column_as_graphql_orders_it(world: dict[str, str]) -> None:
    with console_client(world) as client:
        sign_in(client, world["admin"])
        plain = client.get("/", params={"unit": "64", "year": "2025"}).text
        link = re.search(r'<a href="(/\?unit=64&amp;[^"]*sort=birth_rate&amp;desc=1)">', plain)
        assert link, "each column's header sorts by it"
        down = client.get(html.unescape(link[1]))
        assert down.status_code == 200
        assert 'aria-sort="descending"' in down.text
        rates = [float(cells[1].split()[0]) for cells in grid_of(down.text).values()]
        assert rates == sorted(rates, reverse=True)
        assert len(rates) == len(CITIES)
        up = re.search(r'<a href="([^"]*sort=birth_rate&amp;desc=0)">', down.text)
        assert up, "the sorted column's link turns the order round"
        ascending = grid_of(client.get(html.unescape(up[1])).text)
        assert [float(c[1].split()[0]) for c in ascending.values()] == sorted(rates)
        refused = client.get("/", params={"unit": "64", "year": "2025", "sort": "nonsense"})
        assert refused.status_code == 400
        assert "nonsense" in refused.text


def test_breadcrumbs_periods_and_the_level_below(world: dict[str, str]) -> None:
    with console_client(world) as client:
        sign_in(client, world["admin"])
        township = client.get(
            "/", params={"unit": "640104001", "year": "2025", "kind": "quarter", "quarter": "3"}
        )
        assert township.status_code == 200
        crumbs = re.search(r'data-testid="breadcrumbs">(.*?)</nav>', township.text, re.S)
        assert crumbs
        assert [
            n for n in ("宁夏回族自治区", "银川市", "兴庆区", "凤凰北街街道") if n in crumbs[1]
        ] == [
            "宁夏回族自治区",
            "银川市",
            "兴庆区",
            "凤凰北街街道",
        ]
        assert "2025-Q3" in township.text
        assert len(grid_of(township.text)) == 7, "the street office's seven communities"
        month = client.get(
            "/", params={"unit": "640104001", "year": "2025", "kind": "month", "month": "2"}
        )
        assert "2025-02" in month.text
        for params, message in (
            ({"year": "20x5"}, "bad_period"),
            ({"year": "2025", "kind": "quarter", "quarter": "5"}, "bad_period"),
            ({"year": "2025", "kind": "week"}, "bad_period"),
            ({"unit": "640"}, "bad_code"),
        ):
            refused = client.get("/", params=params)
            assert refused.status_code == 400, params
            assert MESSAGES[message][0] in refused.text
        unknown = client.get("/", params={"unit": "649999"})
        assert unknown.status_code in {403, 404}


def test_a_village_reporter_sees_its_village_and_nothing_else(world: dict[str, str]) -> None:
    with console_client(world) as client:
        sign_in(client, world["village"])
        own = client.get("/", params={"year": "2025"})
        assert own.status_code == 200
        assert list(grid_of(own.text)) == [VILLAGE]
        assert operations(own) == 2
        assert "崇安社区居委会" in own.text
        for unit in (NEIGHBOUR, "640104", "64", "6402"):
            refused = client.get("/", params={"unit": unit, "year": "2025"})
            assert refused.status_code == 403, unit
            assert MESSAGES["refused"][0] in refused.text
            assert grid_of(refused.text) == {}
            assert "兴隆社区" not in refused.text
        found = client.get("/console/search", params={"q": "社区"}, headers={"HX-Request": "true"})
        assert found.status_code == 200
        assert re.findall(r"<code>(\d+)</code>", found.text) == [VILLAGE]


def test_search_by_name_or_code(world: dict[str, str]) -> None:
    with console_client(world) as client:
        sign_in(client, world["city"])
        partial = client.get(
            "/console/search", params={"q": "兴庆"}, headers={"HX-Request": "true"}
        )
        assert partial.status_code == 200
        assert "<html" not in partial.text
        assert 'href="/?unit=640104"' in partial.text
        assert operations(partial) == 1
        whole = client.get("/console/search", params={"q": "640104001"})
        assert "<html" in whole.text
        assert "凤凰北街街道" in whole.text
        outside = client.get(
            "/console/search", params={"q": "石嘴山"}, headers={"HX-Request": "true"}
        )
        assert "/?unit=6402" not in outside.text, "another city lies outside the viewer's scope"
        assert MESSAGES["search_none"][0] in outside.text


def test_chinese_first_english_when_asked(world: dict[str, str]) -> None:
    with console_client(world) as client:
        assert "访问令牌" in client.get("/").text
        english = client.get("/", params={"lang": "en"})
        assert "Access token" in english.text
        assert '<html lang="en">' in english.text
        assert "访问令牌" not in english.text
        assert "Access token" in client.get("/").text, "the cookie keeps the choice"
        sign_in(client, world["admin"])
        board = client.get("/", params={"year": "2025"}).text
        assert "Units one level down" in board
        assert "Under each figure: units that reported" in board
        assert "中文" in board
        assert "下级单位" in client.get("/", params={"lang": "zh", "year": "2025"}).text
    assert all(len(labels) == 2 and all(labels) for labels in MESSAGES.values())


def test_every_page_loads_only_from_this_app(world: dict[str, str]) -> None:
    with console_client(world) as client:
        pages = [client.get("/")]
        sign_in(client, world["admin"])
        pages += [
            client.get("/", params={"year": "2025"}),
            client.get("/console/search", params={"q": "银川"}),
            client.get("/console/reporting", params={"unit": "6401", "year": "2025"}),
        ]
        for page in pages:
            assert page.status_code == 200
            references = re.findall(
                r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]*)"', page.text
            )
            assert references
            for reference in references:
                assert reference.startswith("/") and not reference.startswith("//"), reference
                assert client.get(reference).status_code == 200, reference
            assert not re.search(r"\son[a-z]+=", page.text), "no inline event handlers"
            scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, re.S)
            for attributes, body in scripts:
                assert "src=" in attributes or 'type="application/json"' in attributes, body[:80]


def test_behind_a_prefix_every_address_starts_with_it(world: dict[str, str]) -> None:
    app = create_app(Settings(database_url=world["url"], console_secret=SECRET))
    with TestClient(app, root_path="/quhua", follow_redirects=False) as client:
        page = client.get("/quhua/")
        assert page.status_code == 200
        addresses = re.findall(r'(?:src|href|action|hx-get)="([^"]*)"', page.text)
        assert addresses
        assert all(a.startswith("/quhua/") for a in addresses), addresses
        signed = client.post(
            "/quhua/console/sign-in", data={"token": world["admin"], "csrf": csrf_of(page.text)}
        )
        assert signed.headers["location"] == "/quhua/"


def test_a_revoked_token_ends_the_session(world: dict[str, str]) -> None:
    issued = quhua(
        "token", "create", "--subject", "ningxia-admin", "--expires", "1d", url=world["url"]
    )
    token, token_id = issued.stdout.strip(), issued.stderr.split()[1]
    with console_client(world, policy_poll_seconds=0.05) as client:
        sign_in(client, token)
        assert "宁夏回族自治区" in client.get("/").text
        revoked = quhua("token", "revoke", token_id, "--reason", "left", url=world["url"])
        assert revoked.exit_code == 0, revoked.stdout
        for _ in range(200):
            page = client.get("/")
            if page.status_code == 401:
                break
        assert page.status_code == 401
        assert MESSAGES["session_ended"][0] in page.text
        assert 'action="/console/sign-in"' in page.text


def test_the_secret_is_made_once_and_shared(tmp_path: Path) -> None:
    first = console_secret(Settings(data_dir=tmp_path))
    assert console_secret(Settings(data_dir=tmp_path)) == first
    assert len(first) == 64
    assert (tmp_path / SECRET_FILE).stat().st_mode & 0o777 == 0o600
    assert console_secret(Settings(data_dir=tmp_path, console_secret=SECRET)) == SECRET.encode()
    with pytest.raises(ValueError, match="at least 32"):
        console_secret(Settings(data_dir=tmp_path, console_secret="short"))


def test_the_ningxia_dashboard_in_a_browser(
    world: dict[str, str], chromium: Browser, tmp_path: Path
) -> None:
    env = {"QUHUA_DATABASE_URL": world["url"], "QUHUA_DATA_DIR": str(tmp_path)}
    with quhua_server("serve", folder=tmp_path, env=env) as server:
        ours = urlsplit(server.base).netloc
        foreign: list[str] = []
        problems: list[str] = []

        def only_ours(route: Route) -> None:
            if urlsplit(route.request.url).netloc == ours:
                route.continue_()
            else:
                foreign.append(route.request.url)
                route.abort()

        def note(message: ConsoleMessage) -> None:
            if message.type in {"error", "warning"}:
                problems.append(message.text)

        context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        try:
            page = context.new_page()
            page.route("**/*", only_ours)
            page.on("console", note)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(server.base + "/")
            page.fill("#token", world["admin"])
            page.click("button[type=submit] >> text=登录")
            page.wait_for_selector('[data-testid="viewer"]')
            # Alpine has started once the picker hides the selects a year does not use.
            expect(page.locator("#quarter")).to_be_hidden()
            expect(page.locator("#month")).to_be_hidden()
            page.select_option("#year", "2025")
            page.select_option("#kind", "quarter")
            expect(page.locator("#quarter")).to_be_visible()
            expect(page.locator("#month")).to_be_hidden()
            page.select_option("#kind", "year")
            page.click("form.period button[type=submit]")
            page.wait_for_selector('[data-testid="chart"][data-drawn="true"]')
            page.wait_for_selector('[data-testid="treemap"][data-drawn="true"]')
            assert page.locator('[data-testid="treemap"] svg path').count() >= len(CITIES)
            assert page.locator('[data-testid="grid"] tbody tr').count() == len(CITIES)
            assert page.locator('[data-testid="chart"] svg path').count() > 0
            page.fill("#q", "兴庆")
            page.wait_for_selector('#search-results a[href*="unit=640104"]')
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shot = SCREENSHOTS / f"console-dashboard-{world['backend']}.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            context.close()
    assert foreign == []
    assert problems == [], "no script error and no Content-Security-Policy violation"


REPORTING = """query($unit: String!, $period: String!, $level: Level!) {
  reportingStatus(under: $unit, period: $period, level: $level) {
    counts { expected submitted onTime late missing returned }
    below { unit { code } counts { expected submitted onTime late missing returned } }
    missingUnits(first: 100) { totalCount edges { node { unit { code } } } } } }"""
SUBMIT_REPORT = """mutation($unit: String!, $period: String!) {
  submitReport(unit: $unit, period: $period, comment: "checked") { report { state } } }"""


def test_reporting_status_is_what_graphql_answers(world: dict[str, str]) -> None:
    app = create_app(Settings(database_url=world["url"], console_secret=SECRET))
    with TestClient(app, headers={"Authorization": f"Bearer {world['village']}"}) as reporter:
        data_of(reporter, SUBMIT_REPORT, unit=VILLAGE, period="2025-03")
    with TestClient(app, headers={"Authorization": f"Bearer {world['admin']}"}) as api:
        want = data_of(api, REPORTING, unit="640104001", period="2025-03", level="VILLAGE")
    want = want["reportingStatus"]
    keys = ("expected", "submitted", "onTime", "late", "missing", "returned")
    with console_client(world) as client:
        sign_in(client, world["admin"])
        page = client.get(
            "/console/reporting",
            params={"unit": "640104001", "year": "2025", "kind": "month", "month": "3"},
        )
        assert page.status_code == 200, page.text
        rows = grid_of(page.text)
        assert [int(cell) for cell in rows["640104001"][:6]] == [want["counts"][k] for k in keys]
        assert len(want["below"]) == len(rows) - 1 >= 7
        for below in want["below"]:
            shown = rows[below["unit"]["code"]]
            assert [int(cell) for cell in shown[:6]] == [below["counts"][k] for k in keys]
        missing = re.search(r'data-testid="missingUnits">(.*?)</section>', page.text, re.S)
        assert missing
        codes = re.findall(r"<code>(\d+)</code>", missing[1])
        listed = [edge["node"]["unit"]["code"] for edge in want["missingUnits"]["edges"]]
        assert codes == listed[:50]
        assert NEIGHBOUR in codes and VILLAGE not in codes
        assert f"({want['missingUnits']['totalCount']})" in missing[1]
        # English on asking; a level the unit does not have below it is refused by name.
        english = client.get("/console/reporting", params={"unit": "640104001", "lang": "en"})
        assert "Reporting status" in english.text
        refused = client.get("/console/reporting", params={"unit": "640104001", "level": "city"})
        assert refused.status_code == 400
        assert "city" in refused.text


def test_a_village_reporter_follows_its_own_reports_only(world: dict[str, str]) -> None:
    with console_client(world) as client:
        sign_in(client, world["village"])
        own = client.get("/console/reporting", params={"year": "2025"})
        assert own.status_code == 200, own.text
        assert list(grid_of(own.text)) == [VILLAGE]
        township = client.get("/console/reporting", params={"unit": "640104001", "year": "2025"})
        assert township.status_code == 403
        assert MESSAGES["refused"][0] in township.text
        assert NEIGHBOUR not in township.text


def test_the_grid_downloads_as_the_export_gives_it(world: dict[str, str]) -> None:
    with console_client(world) as client:
        signed_out = client.get("/console/export/aggregates", params={"under": "64"})
        assert signed_out.status_code == 303
        sign_in(client, world["admin"])
        page = client.get("/", params={"unit": "64", "year": "2025"})
        link = re.search(r'<a href="([^"]*)" download data-testid="download">', page.text)
        assert link, "the dashboard links its grid's CSV"
        address = html.unescape(link[1])
        download = client.get(address, headers={"Accept-Encoding": "identity"})
        assert download.status_code == 200, download.text
        assert download.headers["content-type"].startswith("text/csv")
        assert "attachment" in download.headers["content-disposition"]
        assert download.content.startswith("\ufeff".encode())
        lines = download.content.decode("utf-8-sig").splitlines()
        grid = grid_of(page.text)
        columns = len(grid[CITIES[0]])
        assert len(lines) == 1 + len(grid) * columns
        assert {line.split(",")[0] for line in lines[1:]} == set(CITIES)
        query = urlsplit(address).query
    app = create_app(Settings(database_url=world["url"]))
    with TestClient(app, headers={"Authorization": f"Bearer {world['admin']}"}) as api:
        same = api.get(f"/export/aggregates?{query}", headers={"Accept-Encoding": "identity"})
    assert same.content == download.content
    with console_client(world) as client:
        sign_in(client, world["city"])
        other = client.get(address, headers={"Accept-Encoding": "identity"})
        assert other.status_code == 403
