"""`quhua demo`, as the README's first command runs it. Marked scale: it loads all of China."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, expect

from quhua.demo import DEMO_USERS
from tests.cli import quhua
from tests.console_pages import SCREENSHOTS, browser_session
from tests.processes import Server, quhua_server

pytestmark = pytest.mark.scale
TOKEN = re.compile(r"qh_[A-Za-z0-9_-]{43}")
DEMO_DATABASE = "var/quhua.sqlite3"


@contextmanager
def demo(folder: Path) -> Iterator[tuple[Server, dict[str, str], str]]:
    """Run `quhua demo` in folder; yield the server, its tokens by subject, and its output
    when it first answers."""
    env = {"QUHUA_DATABASE_URL": "", "COLUMNS": "250"}
    with quhua_server("demo", "--no-browser", folder=folder, env=env) as server:
        output = server.output()
        tokens = TOKEN.findall(output)
        assert len(tokens) == len(DEMO_USERS), output
        yield server, {u.subject: t for u, t in zip(DEMO_USERS, tokens, strict=True)}, output


def ask(base: str, token: str, query: str) -> dict[str, object]:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def error_code(body: dict[str, object]) -> str | None:
    errors = body.get("errors")
    return errors[0]["extensions"]["code"] if isinstance(errors, list) else None


@pytest.fixture(scope="module")
def first_run() -> Iterator[tuple[Server, dict[str, str], str, Path]]:
    """The demo's first run in a new folder, served for the module's tests that read it."""
    with tempfile.TemporaryDirectory() as folder, demo(Path(folder)) as (server, tokens, output):
        yield server, tokens, output, Path(folder)


def everything_in(server: Server) -> None:
    """Wait until the demo's values and its reporting cycle are all in (the server answers
    before: they arrive a quarter at a time, newest first)."""
    deadline = time.monotonic() + 300
    while "reporting cycle is in" not in server.output():
        assert time.monotonic() < deadline, server.output()
        time.sleep(1)


def test_the_demo_serves_the_tree_of_china_with_tokens_for_every_role(
    first_run: tuple[Server, dict[str, str], str, Path],
) -> None:
    server, tokens, output, folder = first_run
    base = server.base
    assert "loaded 665,276 divisions of China" in output
    admin = ask(base, tokens["ningxia-admin"], "{ grants { totalCount } }")
    assert admin == {"data": {"grants": {"totalCount": len(DEMO_USERS)}}}
    viewer = tokens["yinchuan-viewer"]
    assert ask(base, viewer, '{ jurisdiction(code: "6401") { name } }') == {
        "data": {"jurisdiction": {"name": "银川市"}}
    }
    refused = ask(base, viewer, '{ jurisdiction(code: "6402") { name } }')
    assert error_code(refused) == "FORBIDDEN"
    assert error_code(ask(base, viewer, "{ grants { totalCount } }")) is None
    village = ask(
        base,
        tokens["chongan-reporter"],
        "{ jurisdictions(level: VILLAGE) { totalCount } }",
    )
    assert village == {"data": {"jurisdictions": {"totalCount": 1}}}
    system = ask(
        base,
        tokens["ningxia-stats-system"],
        '{ jurisdiction(code: "64") { descendantCount(level: COUNTY) } }',
    )
    assert system == {"data": {"jurisdiction": {"descendantCount": 22}}}
    assert_demo_values_arrive(base, tokens["ningxia-stats-system"])
    # The demo's store, kept by its imports while the server ran, equals its values.
    verified = quhua("rollups", "verify", url=f"sqlite:///{folder / DEMO_DATABASE}")
    assert verified.exit_code == 0, verified.output


RATES = """{ jurisdiction(code: "64") { indicators(period: "2025-Q4") {
  code value reportingUnits expectedUnits } } }"""
BELIEVABLE = {
    "birth_rate": (6, 14),
    "sex_ratio_at_birth": (105, 118),
    "contraceptive_prevalence": (80, 92),
    "funding_per_capita": (6, 16),
}


def assert_demo_values_arrive(base: str, token: str) -> None:
    """The newest quarter's values load in the background; once in, every indicator answers."""
    deadline = time.monotonic() + 300
    while True:
        body = ask(base, token, RATES)
        found = {i["code"]: i for i in body["data"]["jurisdiction"]["indicators"]}  # type: ignore[index]
        if found["birth_rate"]["value"] is not None or time.monotonic() > deadline:
            break
        time.sleep(2)
    # Every indicator of the monthly reports (the census one has its own table).
    monthly = {code: i for code, i in found.items() if not code.startswith("census")}
    assert all(i["value"] is not None for i in monthly.values()), monthly
    for code, (low, high) in BELIEVABLE.items():
        assert low <= found[code]["value"] <= high, found[code]
    assert found["birth_rate"]["reportingUnits"] == found["birth_rate"]["expectedUnits"] == 2912


def test_a_second_run_reuses_the_database_and_replaces_the_tokens(tmp_path: Path) -> None:
    with demo(tmp_path) as (_, first, output):
        assert "loaded 665,276" in output
    with demo(tmp_path) as (server, second, output):
        base = server.base
        assert "using the existing database" in output
        old = httpx.post(
            f"{base}/graphql",
            json={"query": "{ me { subject { name } } }"},
            headers={"Authorization": f"Bearer {first['ningxia-admin']}"},
            timeout=30,
        )
        assert old.status_code == 401
        assert ask(base, second["ningxia-admin"], "{ me { subject { name } } }") == {
            "data": {"me": {"subject": {"name": "ningxia-admin"}}}
        }


AT_YEAR_END = "year=2025&kind=month&month=12"
# Where each demo user starts in the console, which part of the page must be there and
# what it must show, and the unit whose page it is: each sees their own unit and below.
OPENS = {
    "ningxia-admin": ("/console/admin", "grants", "chongan-reporter", "宁夏回族自治区"),
    "yinchuan-viewer": ("/?year=2025", "grid", "兴庆区", "银川市"),
    "xingqing-approver": (f"/console/approval?{AT_YEAR_END}", "below", "凤凰北街街道", "兴庆区"),
    "fenghuang-reporter": (
        f"/console/entry?{AT_YEAR_END}",
        "entry-form",
        "计划生育经费投入",
        "凤凰北街街道",
    ),
    "chongan-reporter": (
        f"/console/entry?{AT_YEAR_END}",
        "entry-form",
        "出生人数",
        "崇安社区居委会",
    ),
    "ningxia-stats-system": ("/?year=2025", "grid", "银川市", "宁夏回族自治区"),
}
# What each must not reach by editing the address.
REFUSED = {
    "yinchuan-viewer": "/?unit=6402&year=2025",
    "xingqing-approver": f"/console/approval?unit=640105&{AT_YEAR_END}",
    "chongan-reporter": f"/console/entry?unit=640104001003&{AT_YEAR_END}",
    "ningxia-stats-system": f"/console/entry?unit=64&{AT_YEAR_END}",
}

REFUSED_LOAD = "Failed to load resource: the server responded with a status of 403 (Forbidden)"


def test_each_demo_user_signs_in_to_the_console_and_sees_their_own(
    first_run: tuple[Server, dict[str, str], str, Path], chromium: Browser
) -> None:
    server, tokens, _, _ = first_run
    base = server.base
    assert set(OPENS) == {user.subject for user in DEMO_USERS}
    everything_in(server)
    problems: list[str] = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for subject, (path, part, shown, unit) in OPENS.items():
        with browser_session(chromium, base, tokens[subject], problems) as page:
            expect(page.locator('[data-testid="viewer"]')).to_have_text(subject)
            opened = page.goto(base + path)
            assert opened is not None and opened.status == 200, (subject, path)
            expect(page.locator(f'[data-testid="{part}"]')).to_contain_text(shown)
            expect(page.locator("main")).to_contain_text(unit)
            page.screenshot(path=str(SCREENSHOTS / f"demo-{subject}.png"), full_page=True)
            if subject in REFUSED:
                refused = page.goto(base + REFUSED[subject])
                assert refused is not None and refused.status == 403, (subject, REFUSED[subject])
                # Chromium notes the refused page's status among the page's errors.
                problems.remove(REFUSED_LOAD)
                assert page.locator('[data-testid="entry-form"]').count() == 0
                assert page.locator('[data-testid="grid"] tbody tr').count() == 0
    assert problems == [], "no script error and no Content-Security-Policy violation"


def test_the_demo_dashboard_of_ningxia_for_2025_draws_its_cities(
    first_run: tuple[Server, dict[str, str], str, Path], chromium: Browser
) -> None:
    server, tokens, _, _ = first_run
    base = server.base
    everything_in(server)
    problems: list[str] = []
    with browser_session(chromium, base, tokens["ningxia-admin"], problems) as page:
        page.goto(base + "/?unit=64&year=2025")
        page.wait_for_selector('[data-testid="chart"][data-drawn="true"]')
        page.wait_for_selector('[data-testid="treemap"][data-drawn="true"]')
        rows = page.locator('[data-testid="grid"] tbody tr')
        expect(rows).to_have_count(5)
        for city in ("银川市", "石嘴山市", "吴忠市", "固原市", "中卫市"):
            expect(page.locator('[data-testid="grid"]')).to_contain_text(city)
        # Every city's monthly reports are in: each row's figures outnumber its empty cells
        # (the census indicators have no 2025 values).
        for row in rows.all():
            assert row.locator(".figure").count() > row.locator(".none").count(), row.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "demo-dashboard-ningxia-2025.png"), full_page=True)
    assert problems == []
