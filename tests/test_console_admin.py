"""The console's administration: grants and the policy audit of an administrator's subtree,
tokens created (shown once) and revoked, as GraphQL allows them and nothing more, on both
backends and in a real browser."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from starlette.testclient import TestClient

from quhua.console.messages import MESSAGES
from tests.conftest import client_for, data_of
from tests.console_pages import SCREENSHOTS, backend_of, browser_session, csrf_of, served
from tests.databases import issue_token, ningxia_world

COUNTY = "640104"  # 兴庆区
OTHER_COUNTY = "640105"  # 西夏区
VILLAGE = "640104001002"
GRANTS = """query($subject: String) { grants(subject: $subject) { edges { node {
  role jurisdiction { code } } } } }"""
AUDIT = """{ policyAudit(first: 5) { edges { node { action subject { name } reason } } } }"""
ME = "{ me { subject { name } } }"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Ningxia, its administrator, a county's administrator and a village reporter."""
    folder = tmp_path_factory.mktemp("admin")
    with ningxia_world(str(request.param), folder, "ningxia-admin") as (url, admin):
        yield {
            "url": url,
            "admin": admin,
            "county_admin": issue_token(url, "xingqing-admin", "admin", COUNTY),
            "village": issue_token(url, "chongan-reporter", "reporter", VILLAGE),
        }


def post(client: TestClient, url: str, **form: str) -> httpx.Response:
    page = client.get(url)
    assert page.status_code == 200, page.text
    return client.post(url, data={**form, "csrf": csrf_of(page.text)})


def grant_rows(page: str) -> set[tuple[str, str, str]]:
    found = re.findall(r'<tr data-subject="([^"]+)" data-role="([^"]+)" data-unit="(\d+)">', page)
    return {(html.unescape(s), r, u) for s, r, u in found}


def test_an_administrator_grants_and_revokes_in_their_subtree(
    world: dict[str, str], person: Callable[[str], TestClient]
) -> None:
    county = person("county_admin")
    listed = county.get("/console/admin")
    assert listed.status_code == 200, listed.text
    rows = grant_rows(listed.text)
    assert ("chongan-reporter", "reporter", VILLAGE) in rows
    assert all(unit.startswith(COUNTY) for _, _, unit in rows), "only its own subtree"
    assert "ningxia-admin" not in {subject for subject, _, _ in rows}
    granted = post(
        county,
        "/console/admin",
        act="grant",
        subject="xingqing-clerk",
        kind="PERSON",
        role="viewer",
        unit=COUNTY,
        reason="新进统计员",
    )
    assert granted.status_code == 200, granted.text
    assert ("xingqing-clerk", "viewer", COUNTY) in grant_rows(granted.text)
    with client_for(world["url"], world["admin"]) as api:
        grants = data_of(api, GRANTS, subject="xingqing-clerk")["grants"]["edges"]
        assert [(g["node"]["role"], g["node"]["jurisdiction"]["code"]) for g in grants] == [
            ("viewer", COUNTY)
        ]
        newest = data_of(api, AUDIT)["policyAudit"]["edges"][0]["node"]
        assert newest == {
            "action": "GRANT",
            "subject": {"name": "xingqing-clerk"},
            "reason": "新进统计员",
        }
    assert "新进统计员" in county.get("/console/admin").text, "the policy audit lists it"
    outside = post(
        county,
        "/console/admin",
        act="grant",
        subject="xixia-clerk",
        role="viewer",
        unit=OTHER_COUNTY,
        reason="x",
    )
    assert outside.status_code == 400
    assert 'data-testid="refusal"' in outside.text
    no_reason = post(
        county, "/console/admin", act="grant", subject="a", role="viewer", unit=COUNTY, reason=""
    )
    assert no_reason.status_code == 400
    revoked = post(
        county,
        "/console/admin",
        act="revoke",
        subject="xingqing-clerk",
        role="viewer",
        unit=COUNTY,
        reason="调岗",
    )
    assert revoked.status_code == 200, revoked.text
    assert ("xingqing-clerk", "viewer", COUNTY) not in grant_rows(revoked.text)
    forged = county.post(
        "/console/admin",
        data={"act": "grant", "subject": "x", "role": "admin", "unit": COUNTY, "reason": "x"},
    )
    assert forged.status_code == 403
    with client_for(world["url"], world["admin"]) as api:
        assert data_of(api, GRANTS, subject="x")["grants"]["edges"] == []


def test_a_reporter_administers_nothing(
    world: dict[str, str], person: Callable[[str], TestClient]
) -> None:
    reporter = person("village")
    page = reporter.get("/console/admin")
    assert grant_rows(page.text) == set()
    refused = post(
        reporter,
        "/console/admin",
        act="grant",
        subject="friend",
        role="reporter",
        unit=VILLAGE,
        reason="help",
    )
    assert refused.status_code == 400
    with client_for(world["url"], world["admin"]) as api:
        assert data_of(api, GRANTS, subject="friend")["grants"]["edges"] == []


def test_a_token_is_shown_once_and_revoked(
    world: dict[str, str], person: Callable[[str], TestClient]
) -> None:
    county = person("county_admin")
    url = "/console/admin/tokens?subject=chongan-reporter"
    created = post(county, url, act="create", days="7", label="换手机")
    assert created.status_code == 200, created.text
    token = re.search(r'data-testid="created-token">([^<]+)<', created.text)
    assert token, "the new token is on the page"
    with client_for(world["url"], token[1]) as holder:
        assert data_of(holder, ME)["me"]["subject"]["name"] == "chongan-reporter"
    again = county.get(url)
    assert token[1] not in again.text, "shown once only"
    assert "换手机" in again.text
    token_id = re.search(
        r'<tr data-token="([^"]+)">\s*<th scope="row"><code>[^<]*</code>[^<]*'
        r'(?:<span class="level">[^<]*</span>)?</th>\s*<td>换手机</td>',
        again.text,
    )
    assert token_id, again.text
    revoked = post(county, url, act="revoke", id=token_id[1], reason="手机丢失")
    assert revoked.status_code == 200, revoked.text
    assert MESSAGES["token_revoked"][0] in revoked.text
    with client_for(world["url"], token[1]) as holder:
        assert holder.post("/graphql", json={"query": ME}).status_code == 401
    # Someone outside the administrator's subtree: their tokens are not listed.
    outside = county.get("/console/admin/tokens?subject=ningxia-admin")
    assert 'data-testid="tokens"' not in outside.text
    assert 'data-testid="message"' in outside.text


def test_a_reporter_makes_a_token_of_their_own(
    world: dict[str, str], person: Callable[[str], TestClient]
) -> None:
    reporter = person("village")
    page = reporter.get("/console/admin/tokens")
    assert page.status_code == 200
    assert "chongan-reporter" in page.text
    created = post(reporter, "/console/admin/tokens", act="create", days="30", label="笔记本")
    token = re.search(r'data-testid="created-token">([^<]+)<', created.text)
    assert token
    with client_for(world["url"], token[1]) as holder:
        assert data_of(holder, ME)["me"]["subject"]["name"] == "chongan-reporter"


def test_grant_a_role_and_revoke_a_token_in_a_browser(
    world: dict[str, str], chromium: Browser, tmp_path: Path
) -> None:
    backend = backend_of(world)
    problems: list[str] = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (
        served(world, tmp_path) as server,
        browser_session(chromium, server.base, world["county_admin"], problems) as page,
    ):
        page.click("header nav >> text=管理")
        form = page.locator('[data-testid="grant-form"]')
        form.locator('[name="subject"]').fill("xingqing-browser")
        form.locator('[name="role"]').select_option("approver")
        form.locator('[name="unit"]').fill(COUNTY)
        form.locator('[name="reason"]').fill("审核员")
        form.locator("button").click()
        expect(page.locator('[data-testid="done"]')).to_be_visible()
        row = page.locator('tr[data-subject="xingqing-browser"]')
        expect(row).to_have_count(1)
        page.screenshot(path=str(SCREENSHOTS / f"console-admin-{backend}.png"), full_page=True)
        row.locator("a").click()
        page.locator('[data-testid="create-token"] button').click()
        secret = page.locator('[data-testid="created-token"]').inner_text()
        assert secret.startswith("qh_")
        tokens = page.locator('[data-testid="tokens"] tbody tr form[data-act="revoke"]')
        expect(tokens).to_have_count(1)
        tokens.locator('[name="reason"]').fill("不再需要")
        tokens.locator("button").click()
        expect(page.locator('[data-testid="done"]')).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / f"console-tokens-{backend}.png"), full_page=True)
        page.click("nav >> text=角色")
        expect(page.locator('[data-testid="roles"] tr[data-role="reporter"]')).to_have_count(1)
        page.screenshot(path=str(SCREENSHOTS / f"console-roles-{backend}.png"), full_page=True)
    with client_for(world["url"], secret) as holder:
        assert holder.post("/graphql", json={"query": ME}).status_code == 401
    assert problems == []


ROLES = """{ roles(retired: true) { code nameZh actions includes retiredAt } }"""


def test_an_administrator_defines_changes_and_retires_a_role(
    world: dict[str, str], person: Callable[[str], TestClient]
) -> None:
    province = person("admin")
    url = "/console/admin/roles"
    page = province.get(url)
    assert page.status_code == 200, page.text
    assert 'data-role="reporter"' in page.text, "the built-in roles are listed"
    defined = province.post(
        url,
        data={
            "act": "define",
            "code": "stats_clerk",
            "nameZh": "统计员",
            "nameEn": "Statistics clerk",
            "jurisdiction": "64",
            "actions": ["READ_TREE", "READ_VALUES"],
            "includes": [],
            "reason": "新岗位",
            "csrf": csrf_of(page.text),
        },
    )
    assert defined.status_code == 200, defined.text
    assert 'data-testid="done"' in defined.text
    with client_for(world["url"], world["admin"]) as api:
        role = next(r for r in data_of(api, ROLES)["roles"] if r["code"] == "stats_clerk")
        assert role["nameZh"] == "统计员"
        assert sorted(role["actions"]) == ["READ_TREE", "READ_VALUES"]
    changed = province.post(
        url,
        data={
            "act": "update",
            "code": "stats_clerk",
            "nameZh": "统计员",
            "nameEn": "Statistics clerk",
            "actions": ["READ_TREE", "READ_VALUES", "READ_AUDIT"],
            "includes": ["aggregate_reader"],
            "reason": "查看修改记录",
            "csrf": csrf_of(defined.text),
        },
    )
    assert changed.status_code == 200, changed.text
    with client_for(world["url"], world["admin"]) as api:
        role = next(r for r in data_of(api, ROLES)["roles"] if r["code"] == "stats_clerk")
        assert sorted(role["actions"]) == ["READ_AUDIT", "READ_TREE", "READ_VALUES"]
        assert role["includes"] == ["aggregate_reader"]
    no_reason = post(province, url, act="retire", code="stats_clerk", reason="")
    assert no_reason.status_code == 400
    retired = post(province, url, act="retire", code="stats_clerk", reason="岗位撤销")
    assert retired.status_code == 200, retired.text
    assert 'class="revoked"' in retired.text
    with client_for(world["url"], world["admin"]) as api:
        role = next(r for r in data_of(api, ROLES)["roles"] if r["code"] == "stats_clerk")
        assert role["retiredAt"] is not None


def test_a_county_administrator_cannot_define_a_provinces_role(
    world: dict[str, str], person: Callable[[str], TestClient]
) -> None:
    county = person("county_admin")
    refused = post(
        county,
        "/console/admin/roles",
        act="define",
        code="super_clerk",
        nameZh="超级",
        nameEn="Super",
        jurisdiction="64",
        actions="MANAGE_ROLES",
        reason="试试",
    )
    assert refused.status_code == 400
    assert 'data-testid="refusal"' in refused.text
    with client_for(world["url"], world["admin"]) as api:
        assert "super_clerk" not in {r["code"] for r in data_of(api, ROLES)["roles"]}
