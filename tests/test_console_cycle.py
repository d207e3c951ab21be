"""The console's monthly cycle: entering a unit's values of a month and submitting its
report, approving and returning; every figure as GraphQL gives it, every change through
its mutations (scope, locks, conflicts, all or nothing), on both backends."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from starlette.testclient import TestClient

from quhua.console.messages import MESSAGES
from tests.conftest import client_for, data_of
from tests.console_pages import (
    SCREENSHOTS,
    backend_of,
    browser_session,
    console_client,
    csrf_of,
    served,
)
from tests.databases import issue_token, ningxia_world

VILLAGE = "640104001002"  # 崇安社区, the demo's village reporter's
NEIGHBOUR = "640104001003"  # 兴隆社区, in the same street office
TOWNSHIP = "640104001"  # 凤凰北街街道
COUNTY = "640104"  # 兴庆区

VALUES = """query($code: String!, $period: String!) { jurisdiction(code: $code) {
  values(period: $period) { element disaggregation period value }
  auditTrail(period: $period, first: 5) { edges { node { actor newValue reason } } } } }"""
SUBMIT = """mutation($rows: [ValueInput!]!) { submitValues(input: $rows, reason: "api") {
  ok errors { message } } }"""
ELEMENTS = """{ catalogue { elements { code periodType reportedAt
  categories { options { code } } } } }"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Ningxia and the shipped catalogue, no values; the demo's people of Xingqing."""
    folder = tmp_path_factory.mktemp("cycle")
    with ningxia_world(str(request.param), folder, "ningxia-admin") as (url, admin):
        yield {
            "url": url,
            "admin": admin,
            "village": issue_token(url, "chongan-reporter", "reporter", VILLAGE),
            "township": issue_token(url, "fenghuang-reporter", "reporter", TOWNSHIP),
            "approver": issue_token(url, "xingqing-approver", "approver", COUNTY),
            "viewer": issue_token(url, "yinchuan-viewer", "viewer", "6401"),
        }


@pytest.fixture
def api(world: dict[str, str]) -> Iterator[TestClient]:
    """GraphQL as the province's administrator: what the console's pages are checked by."""
    with client_for(world["url"], world["admin"]) as client:
        yield client


def entry_url(code: str, month: int, year: int = 2024) -> str:
    return f"/console/entry?unit={code}&year={year}&kind=month&month={month}"


def inputs_of(page: str) -> dict[str, str]:
    """The entry form's fields: each value input and its hidden value-seen, by name."""
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'name="([vs]\|[^"]+)" value="([^"]*)"', page)
    }


def errors_of(page: str) -> dict[str, str]:
    """Each refused input's message, by its key."""
    found = re.findall(
        r'data-key="([^"]+)" aria-invalid="true">\s*<input type="hidden"[^>]*>\s*'
        r'<span class="error" data-testid="error">([^<]*)</span>',
        page,
    )
    return {html.unescape(key): html.unescape(message) for key, message in found}


def post_form(client: TestClient, url: str, typed: dict[str, str], **more: str) -> Any:
    """The form as the page holds it, with some inputs typed over."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    fields = inputs_of(page.text)
    for key, value in typed.items():
        assert "v|" + key in fields, f"the form has no input {key}"
        fields["v|" + key] = value
    return client.post(url, data={**fields, "csrf": csrf_of(page.text), **more})


def stored(api: TestClient, code: str, period: str) -> dict[str, float]:
    unit = data_of(api, VALUES, code=code, period=period)["jurisdiction"]
    return {
        f"{v['element']}|{v['period']}|{v['disaggregation']}": v["value"] for v in unit["values"]
    }


def trail(api: TestClient, code: str, period: str) -> list[dict[str, Any]]:
    unit = data_of(api, VALUES, code=code, period=period)["jurisdiction"]
    return [edge["node"] for edge in unit["auditTrail"]["edges"]]


def expected_inputs(api: TestClient, level: str, period_types: set[str]) -> int:
    """How many inputs a unit of the level has in a month: one per option combination of
    each element it reports whose period is entered then."""
    count = 0
    for element in data_of(api, ELEMENTS)["catalogue"]["elements"]:
        if level in element["reportedAt"] and element["periodType"] in period_types:
            combos = 1
            for category in element["categories"]:
                combos *= len(category["options"])
            count += combos
    return count


BIRTH = "births|2024-01|parity=1;sex=male"


def test_the_form_shows_what_graphql_stores(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    rows = [
        {
            "jurisdiction": VILLAGE,
            "element": "births",
            "period": "2024-01",
            "value": 2,
            "disaggregation": "sex=male;parity=1",
        },
        {
            "jurisdiction": VILLAGE,
            "element": "fees_collected",
            "period": "2024-01",
            "value": 1250.5,
        },
    ]
    assert data_of(api, SUBMIT, rows=rows)["submitValues"]["ok"]
    client = person("village")
    page = client.get(entry_url(VILLAGE, 1))
    assert page.status_code == 200, page.text
    fields = inputs_of(page.text)
    values = {k[2:]: v for k, v in fields.items() if k.startswith("v|")}
    assert len(values) == expected_inputs(api, "VILLAGE", {"MONTH"})
    assert values[BIRTH] == "2"
    assert values["fees_collected|2024-01|"] == "1250.5"
    assert fields["s|" + BIRTH] == "2"
    assert {k for k, v in values.items() if v} == {BIRTH, "fees_collected|2024-01|"}
    assert "funding" not in " ".join(values), "counties and townships report funding"
    assert 'step="0.01"' in page.text and 'step="1"' in page.text
    assert "ningxia-admin" in page.text, "who stored the value last"
    assert MESSAGES["not_submitted"][0] in page.text
    assert 'data-testid="read-only"' not in page.text


def test_saving_stores_the_changes_and_corrections_need_a_reason(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    client = person("village")
    url = entry_url(VILLAGE, 2)
    births = "births|2024-02|parity=1;sex=female"
    deaths = "deaths|2024-02|"
    saved = post_form(client, url, {births: "3", deaths: "1"})
    assert saved.status_code == 200, saved.text
    assert MESSAGES["saved"][0].format(count=2) in saved.text
    assert stored(api, VILLAGE, "2024-02") == {births: 3.0, deaths: 1.0}
    assert {c["reason"] for c in trail(api, VILLAGE, "2024-02")} == {MESSAGES["entry_reason"][0]}
    assert {c["actor"] for c in trail(api, VILLAGE, "2024-02")} == {"chongan-reporter"}
    # A correction without a reason stores nothing; with one, it is audited with it.
    refused = post_form(client, url, {births: "4"})
    assert refused.status_code == 400
    assert MESSAGES["reason_required"][0] in refused.text
    assert inputs_of(refused.text)["v|" + births] == "4", "what was typed stays on the form"
    assert stored(api, VILLAGE, "2024-02")[births] == 3.0
    corrected = post_form(client, url, {births: "4", deaths: ""}, reason="复核出生证明")
    assert corrected.status_code == 200, corrected.text
    assert MESSAGES["saved"][0].format(count=2) in corrected.text
    assert stored(api, VILLAGE, "2024-02") == {births: 4.0}
    newest = trail(api, VILLAGE, "2024-02")[:2]
    assert {c["reason"] for c in newest} == {"复核出生证明"}
    assert {c["newValue"] for c in newest} == {4.0, None}
    # The page after saving shows the values as stored now.
    assert inputs_of(corrected.text)["s|" + births] == "4"
    assert inputs_of(corrected.text)["s|" + deaths] == ""
    unchanged = post_form(client, url, {})
    assert unchanged.status_code == 200
    assert MESSAGES["saved"][0].format(count=0) in unchanged.text


def test_bad_values_are_marked_at_their_inputs_and_nothing_is_saved(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    client = person("village")
    url = entry_url(VILLAGE, 3)
    good, negative, fraction = (
        "deaths|2024-03|",
        "births|2024-03|parity=2;sex=male",
        "population|2024-03|sex=female",
    )
    refused = post_form(client, url, {good: "1", negative: "-2", fraction: "1.5"})
    assert refused.status_code == 400
    errors = errors_of(refused.text)
    assert set(errors) == {negative, fraction}
    assert "negative" in errors[negative]
    assert "whole number" in errors[fraction]
    assert stored(api, VILLAGE, "2024-03") == {}, "all or nothing"
    typed = inputs_of(refused.text)
    assert (typed["v|" + good], typed["v|" + negative]) == ("1", "-2")
    not_number = post_form(client, url, {good: "one"})
    assert not_number.status_code == 400
    assert set(errors_of(not_number.text)) == {good}
    assert stored(api, VILLAGE, "2024-03") == {}


def test_a_value_changed_meanwhile_is_not_overwritten(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    client = person("village")
    url = entry_url(VILLAGE, 4)
    key = "deaths|2024-04|"
    assert post_form(client, url, {key: "1"}).status_code == 200
    page = client.get(url)
    fields = inputs_of(page.text)
    row = {"jurisdiction": VILLAGE, "element": "deaths", "period": "2024-04", "value": 5}
    assert data_of(api, SUBMIT, rows=[row])["submitValues"]["ok"]
    fields["v|" + key] = "2"
    late = client.post(url, data={**fields, "csrf": csrf_of(page.text), "reason": "recount"})
    assert late.status_code == 400
    assert errors_of(late.text)[key].startswith("CONFLICT")
    assert stored(api, VILLAGE, "2024-04") == {key: 5.0}
    fields["v|" + key] = ""
    cleared = client.post(url, data={**fields, "csrf": csrf_of(page.text), "reason": "gone"})
    assert cleared.status_code == 400
    assert key in errors_of(cleared.text)
    assert stored(api, VILLAGE, "2024-04") == {key: 5.0}


def test_a_post_without_the_csrf_token_stores_nothing(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    client = person("village")
    url = entry_url(VILLAGE, 5)
    fields = inputs_of(client.get(url).text)
    fields["v|deaths|2024-05|"] = "1"
    for csrf in ({}, {"csrf": "forged"}):
        refused = client.post(url, data={**fields, **csrf})
        assert refused.status_code == 403
        assert MESSAGES["csrf_refused"][0] in refused.text
    submitted = client.post(f"/console/entry/submit?unit={VILLAGE}&year=2024&kind=month&month=5")
    assert submitted.status_code == 403
    assert stored(api, VILLAGE, "2024-05") == {}
    signed_out = console_client(world)
    with signed_out:
        assert signed_out.post(url, data=fields).status_code == 303


def test_a_reporter_enters_values_of_its_own_unit_only(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    client = person("village")
    page = client.get(entry_url(NEIGHBOUR, 6))
    assert page.status_code == 403
    assert 'name="v|' not in page.text
    forged = {"v|deaths|2024-06|": "1", "s|deaths|2024-06|": "", "csrf": csrf_of(page.text)}
    assert client.post(entry_url(NEIGHBOUR, 6), data=forged).status_code == 403
    assert stored(api, NEIGHBOUR, "2024-06") == {}
    # A city viewer reads the village's form but may not change it: the page offers no
    # save, and a forged form is refused by submitValues.
    viewer = person("viewer")
    read = viewer.get(entry_url(VILLAGE, 6))
    assert read.status_code == 200
    assert 'data-testid="read-only"' in read.text
    assert 'data-testid="save"' not in read.text
    assert "<fieldset" in read.text and "disabled" in read.text
    refused = post_form(viewer, entry_url(VILLAGE, 6), {"deaths|2024-06|": "1"})
    assert refused.status_code == 400
    assert "FORBIDDEN" in errors_of(refused.text)["deaths|2024-06|"]
    assert stored(api, VILLAGE, "2024-06") == {}


def test_a_township_enters_its_quarters_funding_in_the_quarters_last_month(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    client = person("township")
    march = inputs_of(client.get(entry_url(TOWNSHIP, 3)).text)
    assert [k for k in march if k.startswith("v|")] == ["v|funding|2024-Q1|"]
    february = client.get(entry_url(TOWNSHIP, 2))
    assert inputs_of(february.text) == {}
    assert 'data-testid="nothing-to-enter"' in february.text
    saved = post_form(client, entry_url(TOWNSHIP, 3), {"funding|2024-Q1|": "80000"})
    assert saved.status_code == 200, saved.text
    assert stored(api, TOWNSHIP, "2024-Q1") == {"funding|2024-Q1|": 80000.0}
    # A quarter's choice shows its last month.
    assert "funding|2024-Q1|" in " ".join(
        inputs_of(
            client.get(f"/console/entry?unit={TOWNSHIP}&year=2024&kind=quarter&quarter=1").text
        )
    )


REPORT = """mutation($unit: String!, $period: String!) {
  submitReport(unit: $unit, period: $period) { report { state } } }"""
STATES = """query($unit: String!, $period: String!) {
  approvalStatus(unit: $unit, period: $period) { state }
  report(unit: $village, period: $period) { state } }"""
VILLAGES = """query($unit: String!) { jurisdiction(code: $unit) {
  children(first: 100) { edges { node { code } } } } }"""


def approval_url(code: str, month: int) -> str:
    return f"/console/approval?unit={code}&year=2024&kind=month&month={month}"


def act(client: TestClient, code: str, month: int, **form: str) -> Any:
    page = client.get(approval_url(code, month))
    assert page.status_code == 200, page.text
    return client.post(approval_url(code, month), data={**form, "csrf": csrf_of(page.text)})


def states(api: TestClient, month: str) -> tuple[str, str | None]:
    query = STATES.replace("$village", f'"{VILLAGE}"')
    found = data_of(api, query, unit=TOWNSHIP, period=month)
    return found["approvalStatus"]["state"], (found["report"] or {}).get("state")


def test_submit_approve_lock_withdraw_and_return(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    reporter, approver = person("village"), person("approver")
    entry = entry_url(VILLAGE, 7)
    assert post_form(reporter, entry, {"deaths|2024-07|": "1"}).status_code == 200
    page = reporter.get(entry)
    submitted = reporter.post(
        f"/console/entry/submit?unit={VILLAGE}&year=2024&kind=month&month=7",
        data={"csrf": csrf_of(page.text), "comment": "已核对"},
    )
    assert submitted.status_code == 200, submitted.text
    assert 'data-testid="submitted"' in submitted.text
    assert MESSAGES["state_SUBMITTED"][0] in submitted.text
    assert states(api, "2024-07") == ("WAITING", "SUBMITTED")
    waiting = approver.get(approval_url(TOWNSHIP, 7))
    assert MESSAGES["approval_WAITING"][0] in waiting.text
    assert 'data-act="approve"' not in waiting.text
    children = data_of(api, VILLAGES, unit=TOWNSHIP)["jurisdiction"]["children"]["edges"]
    for child in children:
        if child["node"]["code"] != VILLAGE:
            data_of(api, REPORT, unit=child["node"]["code"], period="2024-07")
    ready = approver.get(approval_url(TOWNSHIP, 7))
    assert MESSAGES["approval_READY"][0] in ready.text
    assert f'data-act="approve" data-target="{TOWNSHIP}"' in ready.text
    assert f'data-act="return" data-target="{VILLAGE}"' in ready.text
    approved = act(approver, TOWNSHIP, 7, act="approve", target=TOWNSHIP, reason="")
    assert approved.status_code == 200, approved.text
    assert 'data-testid="done"' in approved.text
    assert states(api, "2024-07") == ("APPROVED_HERE", "SUBMITTED")
    county = approver.get(approval_url(COUNTY, 7))
    row = re.search(rf'<tr data-code="{TOWNSHIP}">(.*?)</tr>', county.text, re.S)
    assert row and MESSAGES["approval_APPROVED_HERE"][0] in row[1]
    # Approved is locked: the village's form is read-only, and a forged save is refused.
    locked = reporter.get(entry)
    assert 'data-testid="locked"' in locked.text
    assert 'data-testid="save"' not in locked.text
    forged = post_form(reporter, entry, {"deaths|2024-07|": "2"}, reason="late")
    assert forged.status_code == 400
    assert errors_of(forged.text)["deaths|2024-07|"].startswith("LOCKED")
    assert stored(api, VILLAGE, "2024-07") == {"deaths|2024-07|": 1.0}
    # A withdrawal and a return need a reason; the village sees why it was sent back.
    no_reason = act(approver, TOWNSHIP, 7, act="withdraw", target=TOWNSHIP, reason="")
    assert no_reason.status_code == 400
    assert MESSAGES["reason_required"][0] in no_reason.text
    assert states(api, "2024-07")[0] == "APPROVED_HERE"
    withdrawn = act(approver, TOWNSHIP, 7, act="withdraw", target=TOWNSHIP, reason="复查")
    assert withdrawn.status_code == 200, withdrawn.text
    assert states(api, "2024-07")[0] == "READY"
    returned = act(approver, TOWNSHIP, 7, act="return", target=VILLAGE, reason="死亡人数有误")
    assert returned.status_code == 200, returned.text
    assert states(api, "2024-07") == ("WAITING", "RETURNED")
    sent_back = reporter.get(entry)
    assert "死亡人数有误" in sent_back.text
    assert 'data-testid="save"' in sent_back.text, "a returned report is corrected"


def test_only_an_approver_of_the_unit_acts_on_it(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    reporter, approver = person("township"), person("approver")
    page = reporter.get(approval_url(TOWNSHIP, 8))
    assert page.status_code == 200
    assert 'data-testid="read-only"' in page.text
    assert "data-act=" not in page.text
    forged = act(reporter, TOWNSHIP, 8, act="return", target=VILLAGE, reason="x")
    assert forged.status_code == 403
    assert states(api, "2024-08") == ("WAITING", None)
    outside_page = approver.get(approval_url("640105", 8))
    assert outside_page.status_code == 403
    assert "data-act=" not in outside_page.text
    outside = approver.post(
        approval_url("640105", 8),
        data={"act": "approve", "target": "640105", "csrf": csrf_of(outside_page.text)},
    )
    assert outside.status_code == 403
    village = approver.get(approval_url(VILLAGE, 8))
    assert village.status_code == 400
    assert MESSAGES["no_approval_here"][0] in village.text
    unknown = act(approver, TOWNSHIP, 8, act="delete", target=TOWNSHIP)
    assert unknown.status_code == 400
    no_csrf = approver.post(approval_url(TOWNSHIP, 8), data={"act": "approve"})
    assert no_csrf.status_code == 403


def test_enter_submit_and_approve_in_a_browser(
    world: dict[str, str], api: TestClient, chromium: Browser, tmp_path: Path
) -> None:
    backend = backend_of(world)
    problems: list[str] = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with served(world, tmp_path) as server:
        with browser_session(chromium, server.base, world["village"], problems) as page:
            page.click("header nav >> text=数据录入")
            page.select_option("#year", "2024")
            page.select_option("#month", "9")
            page.click("form.period button[type=submit]")
            births = page.get_by_label("出生人数 一孩 男", exact=True)
            # Each input says what is wrong as it is typed, before anything is saved.
            typed = page.locator('[data-testid="typed-error"]')
            births.press_sequentially("1.5")
            expect(typed).to_have_text(MESSAGES["typed_not_whole"][0])
            births.fill("")
            births.press_sequentially("-3")
            expect(typed).to_have_text(MESSAGES["typed_below_zero"][0])
            expect(births).to_have_attribute("aria-invalid", "true")
            births.fill("2")
            expect(typed).to_be_hidden()
            expect(births).to_have_attribute("aria-invalid", "false")
            page.get_by_label("死亡人数 死亡人数", exact=True).fill("1")
            page.click('[data-testid="save"]')
            expect(page.locator('[data-testid="saved"]')).to_contain_text("2")
            # The browser refuses a negative count before the server sees it.
            births.fill("-1")
            page.click('[data-testid="save"]')
            assert births.evaluate("input => input.validity.valid") is False
            births.fill("2")
            page.click('[data-testid="submit-report"]')
            expect(page.locator('[data-testid="submitted"]')).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / f"console-entry-{backend}.png"), full_page=True)
        assert stored(api, VILLAGE, "2024-09") == {
            "births|2024-09|parity=1;sex=male": 2.0,
            "deaths|2024-09|": 1.0,
        }
        children = data_of(api, VILLAGES, unit=TOWNSHIP)["jurisdiction"]["children"]["edges"]
        # September ends a quarter: the township owes its own report (funding) too.
        for unit in [TOWNSHIP, *(child["node"]["code"] for child in children)]:
            if unit != VILLAGE:
                data_of(api, REPORT, unit=unit, period="2024-09")
        with browser_session(chromium, server.base, world["approver"], problems) as page:
            page.goto(server.base + approval_url(TOWNSHIP, 9))
            expect(page.locator('[data-testid="approval-state"]')).to_contain_text("待审核")
            page.click(f'form[data-act="approve"][data-target="{TOWNSHIP}"] button')
            expect(page.locator('[data-testid="done"]')).to_be_visible()
            expect(page.locator('[data-testid="approval-state"]')).to_contain_text("本级已审核")
            page.screenshot(
                path=str(SCREENSHOTS / f"console-approval-{backend}.png"), full_page=True
            )
    assert states(api, "2024-09")[0] == "APPROVED_HERE"
    assert problems == [], "no script error and no Content-Security-Policy violation"


def upload(client: TestClient, month: int, body: str, **form: str) -> Any:
    page = client.get(entry_url(VILLAGE, month))
    url = f"/console/upload?unit={VILLAGE}&year=2024&kind=month&month={month}"
    files = {"file": ("values.csv", body.encode("utf-8"), "text/csv")}
    return client.post(url, data={"csrf": csrf_of(page.text), **form}, files=files)


HEADER = "jurisdiction,element,period,value,disaggregation\n"


def test_an_uploaded_file_imports_whole_or_lists_every_bad_line(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    client = person("village")
    good = HEADER + f"{VILLAGE},deaths,2024-10,2,\n{VILLAGE},births,2024-10,1,sex=male;parity=1\n"
    checked = upload(client, 10, good, reason="乡镇汇总表", dry_run="true")
    assert checked.status_code == 200, checked.text
    assert MESSAGES["import_dry_run_kept"][0] in checked.text
    assert stored(api, VILLAGE, "2024-10") == {}
    imported = upload(client, 10, good, reason="乡镇汇总表")
    assert imported.status_code == 200, imported.text
    assert MESSAGES["import_written"][0] in imported.text
    assert stored(api, VILLAGE, "2024-10") == {
        "deaths|2024-10|": 2.0,
        "births|2024-10|parity=1;sex=male": 1.0,
    }
    assert inputs_of(imported.text)["v|deaths|2024-10|"] == "2", "the form shows the file's"
    assert trail(api, VILLAGE, "2024-10")[0]["reason"] == "乡镇汇总表"
    bad = (
        HEADER
        + f"{VILLAGE},deaths,2024-10,3,\n"
        + f"{VILLAGE},death,2024-10,1,\n"
        + f"{NEIGHBOUR},deaths,2024-10,1,\n"
        + f"{VILLAGE},births,2024-10,-1,sex=male;parity=2\n"
    )
    refused = upload(client, 10, bad, reason="更正")
    assert refused.status_code == 422
    lines = re.findall(r'<li data-line="(\d+)">([^<]*)</li>', refused.text)
    assert [int(line) for line, _ in lines] == [3, 4, 5]
    assert "death" in lines[0][1] and NEIGHBOUR in lines[1][1] and "negative" in lines[2][1]
    assert stored(api, VILLAGE, "2024-10")["deaths|2024-10|"] == 2.0, "all or nothing"
    assert upload(client, 10, good).status_code == 400, "a reason is required"
    no_csrf = client.post(
        f"/console/upload?unit={VILLAGE}&year=2024&kind=month&month=10",
        data={"reason": "x"},
        files={"file": ("values.csv", bad.encode(), "text/csv")},
    )
    assert no_csrf.status_code == 403


def test_the_audit_trail_pages_through_graphqls(
    world: dict[str, str], api: TestClient, person: Callable[[str], TestClient]
) -> None:
    rows = [
        {
            "jurisdiction": VILLAGE,
            "element": element,
            "period": f"2023-{month:02d}",
            "value": 1,
            "disaggregation": combo,
        }
        for month in range(1, 13)
        for element, combo in (
            *(
                ("births", f"sex={sex};parity={parity}")
                for sex in ("male", "female")
                for parity in ("1", "2", "3plus")
            ),
            ("deaths", ""),
            ("population", "sex=male"),
            ("population", "sex=female"),
        )
    ]
    assert len(rows) == 108
    assert data_of(api, SUBMIT, rows=rows)["submitValues"]["ok"]
    client = person("village")
    first = client.get(f"/console/audit?unit={VILLAGE}&year=2023&kind=year")
    assert first.status_code == 200, first.text
    shown = re.findall(r'<tr data-element="(\w+)">', first.text)
    assert len(shown) == 100
    following = re.search(r'href="(/console/audit\?[^"]+)" data-testid="next-page"', first.text)
    assert following, "a next page"
    second = client.get(html.unescape(following[1]))
    assert len(re.findall(r'<tr data-element="(\w+)">', second.text)) == 8
    assert 'data-testid="next-page"' not in second.text
    trail = data_of(
        api,
        """query($code: String!) { jurisdiction(code: $code) {
          auditTrail(period: "2023", first: 200) { totalCount edges { node { element } } } } }""",
        code=VILLAGE,
    )["jurisdiction"]["auditTrail"]
    assert trail["totalCount"] == 108
    assert shown + re.findall(r'<tr data-element="(\w+)">', second.text) == [
        edge["node"]["element"] for edge in trail["edges"]
    ]
    assert "共 108 次修改" in first.text
    assert client.get(f"/console/audit?unit={NEIGHBOUR}").status_code == 403
