"""The monthly cycle through HTTP and the CLI: reports submitted at the server's time,
approved bottom up, locking what they approve, returned, withdrawn and reopened, and the
completeness and timeliness of every level counted from the tree as it stood."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from core.db.engine import sync_engine
from indicators.reporting import events
from indicators.reporting.models import Report
from quhua.demo_cycle import seed_cycle
from tenancy.models import Jurisdiction
from tests.cli import quhua
from tests.conftest import client_for, data_of, graphql
from tests.databases import issue_token, ningxia_world, retire

TOWNSHIP = "640104012"  # 星河街街道: two villages
VILLAGES = ("640104012001", "640104012002")
COUNTY = "640104"
MONTH = "2026-10"
CST = dt.timezone(dt.timedelta(hours=8))
FIRST_LOAD = dt.date(2023, 6, 30)  # tests.databases.load_tree

SUBMIT_VALUE = """mutation($unit: String!, $value: Float!, $period: String!) {
  submitValues(reason: "monthly", input: [{jurisdiction: $unit, element: "births",
    period: $period, value: $value, disaggregation: "sex=male;parity=1"}]) {
    ok errors { code message } } }"""
SUBMIT_REPORT = """mutation($unit: String!, $period: String!) {
  submitReport(unit: $unit, period: $period, comment: "checked") {
    resubmitted
    report { state onTime firstSubmittedAt deadline lastSubmitted { actor reason }
             returned { reason } changesSinceApproval { element disaggregation approved now } }
  } }"""
APPROVE = """mutation($unit: String!, $period: String!) {
  approve(unit: $unit, period: $period, reason: "looks right") {
    state approvedHere { unit { code } approved { actor reason } } waitingCount } }"""
RETURN = """mutation($unit: String!, $period: String!) {
  returnForCorrection(unit: $unit, period: $period, reason: "births look low") {
    state approvedHere { unit { code } } } }"""
WITHDRAW = """mutation($unit: String!, $period: String!) {
  withdrawApproval(unit: $unit, period: $period, reason: "second look") { state } }"""
REOPEN = """mutation($unit: String!, $period: String!) {
  reopen(unit: $unit, period: $period, reason: "hospital records differ", hours: 2) {
    period until } }"""
STATUS = """query($unit: String!, $period: String!) {
  approvalStatus(unit: $unit, period: $period) {
    state approves waitingCount waitingFor { unit { code } needs }
    approvedHere { unit { code } } approvedAbove { unit { code } } } }"""
REPORTING = """query($under: String!, $period: String!, $level: Level!) {
  reportingStatus(under: $under, period: $period, level: $level) {
    counts { expected submitted onTime late missing returned completeness timeliness }
    below { unit { code } counts { expected submitted } }
    missingUnits(first: 1) {
      totalCount edges { cursor node { unit { code } period report { state } } } }
    lateUnits { edges { node { unit { code } report { onTime } } } }
  } }"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Ningxia with the catalogue, and tokens for each level of 星河街街道's line."""
    folder = tmp_path_factory.mktemp("reporting")
    with ningxia_world(str(request.param), folder, "reporting-root") as (url, admin):
        yield {
            "url": url,
            "admin": admin,
            "village": issue_token(url, "village-clerk", "reporter", VILLAGES[0]),
            "other_village": issue_token(url, "other-clerk", "reporter", "640104001002"),
            "township": issue_token(url, "township-approver", "approver", TOWNSHIP),
            "county": issue_token(url, "county-approver", "approver", COUNTY),
            "other_city": issue_token(url, "shizuishan-approver", "approver", "6402"),
        }


def client(world: dict[str, str], who: str) -> TestClient:
    return client_for(world["url"], world[who])


def error_code(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    return str(body["errors"][0]["extensions"]["code"])


def at(text: str) -> dt.datetime:
    """An instant of China Standard Time, as the server's clock."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=CST).astimezone(dt.UTC)


def test_cycle_from_report_to_lock_and_back(
    world: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    month = "2026-11"
    with client(world, "village") as village:
        assert data_of(village, SUBMIT_VALUE, unit=VILLAGES[0], value=3, period=month)[
            "submitValues"
        ]["ok"]
        # Before the deadline (the 3rd of the following month, China Standard Time)…
        monkeypatch.setattr(events, "utc_now", lambda: at("2026-12-03T23:59:00"))
        first = data_of(village, SUBMIT_REPORT, unit=VILLAGES[0], period=month)["submitReport"]
    assert first["resubmitted"] is False
    assert first["report"]["state"] == "SUBMITTED"
    assert first["report"]["onTime"] is True
    assert first["report"]["deadline"] == "2026-12-03T16:00:00+00:00"
    assert first["report"]["lastSubmitted"] == {"actor": "village-clerk", "reason": "checked"}
    with client(world, "township") as township:
        waiting = data_of(township, STATUS, unit=TOWNSHIP, period=month)["approvalStatus"]
        assert waiting["state"] == "WAITING"
        assert waiting["waitingFor"] == [{"unit": {"code": VILLAGES[1]}, "needs": "report"}]
        refused = graphql(township, APPROVE, unit=TOWNSHIP, period=month)
        assert error_code(refused) == "CONFLICT"
        assert VILLAGES[1] in refused["errors"][0]["message"]
        # …and one just after it: late.
        monkeypatch.setattr(events, "utc_now", lambda: at("2026-12-04T00:00:01"))
        late = data_of(township, SUBMIT_REPORT, unit=VILLAGES[1], period=month)["submitReport"]
        assert late["report"]["onTime"] is False
        monkeypatch.setattr(events, "utc_now", lambda: dt.datetime.now(dt.UTC))
        approved = data_of(township, APPROVE, unit=TOWNSHIP, period=month)["approve"]
        assert approved["state"] == "APPROVED_HERE"
        assert approved["approvedHere"]["approved"] == {
            "actor": "township-approver",
            "reason": "looks right",
        }
    with client(world, "village") as village:
        locked = data_of(village, SUBMIT_VALUE, unit=VILLAGES[0], value=4, period=month)
        errors = locked["submitValues"]["errors"]
        assert [e["code"] for e in errors] == ["LOCKED"]
        assert TOWNSHIP in errors[0]["message"]
        assert (
            error_code(graphql(village, SUBMIT_REPORT, unit=VILLAGES[0], period=month)) == "LOCKED"
        )
        # A village's own approval rights would not reach above it.
        assert error_code(graphql(village, APPROVE, unit=TOWNSHIP, period=month)) == "FORBIDDEN"
    # The import takes the same lock, line by line, and writes nothing.
    csv = tmp_path / "late.csv"
    csv.write_text(
        "jurisdiction,element,period,value,disaggregation\n"
        f"{VILLAGES[0]},births,{month},5,sex=male;parity=1\n"
        f"{VILLAGES[0]},births,2026-10,5,sex=male;parity=1\n"
    )
    imported = quhua("values", "import", str(csv), url=world["url"])
    assert imported.exit_code != 0
    assert "late.csv:2: 640104012001 2026-11 is locked: approved by 640104012" in imported.stderr
    assert "late.csv:3" not in imported.stderr
    assert "nothing was written" in imported.stderr
    with client(world, "county") as county:
        # A county cannot approve while… its other townships wait; it reopens the village.
        assert error_code(graphql(county, APPROVE, unit=COUNTY, period=month)) == "CONFLICT"
        reopened = data_of(county, REOPEN, unit=VILLAGES[0], period=month)["reopen"]
        assert reopened["period"] == month
    with client(world, "village") as village:
        assert data_of(village, SUBMIT_VALUE, unit=VILLAGES[0], value=4, period=month)[
            "submitValues"
        ]["ok"]
        again = data_of(village, SUBMIT_REPORT, unit=VILLAGES[0], period=month)["submitReport"]
    assert again["resubmitted"] is True
    assert again["report"]["onTime"] is True, "the first submission's time stays"
    assert again["report"]["changesSinceApproval"] == [
        {"element": "births", "disaggregation": "parity=1;sex=male", "approved": 3.0, "now": 4.0}
    ]
    with client(world, "township") as township:
        # Its own approval, which the county has not approved above: withdrawn by itself.
        assert (
            data_of(township, WITHDRAW, unit=TOWNSHIP, period=month)["withdrawApproval"]["state"]
            == "READY"
        )
        assert error_code(graphql(township, RETURN, unit=TOWNSHIP, period=month)) == "FORBIDDEN"
        returned = data_of(township, RETURN, unit=VILLAGES[1], period=month)
        assert returned["returnForCorrection"]["state"] == "NOT_APPROVING"
    with client(world, "village") as village:
        report = data_of(
            village,
            "query($u: String!, $p: String!) { report(unit: $u, period: $p) { state } }",
            u=VILLAGES[0],
            p=month,
        )["report"]
        assert report == {"state": "SUBMITTED"}


def test_completeness_and_timeliness_roll_up(
    world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    month = "2026-08"
    with client(world, "township") as township:
        monkeypatch.setattr(events, "utc_now", lambda: at("2026-09-02T09:00:00"))
        data_of(township, SUBMIT_REPORT, unit=VILLAGES[0], period=month)
        monkeypatch.setattr(events, "utc_now", lambda: at("2026-09-09T09:00:00"))
        data_of(township, SUBMIT_REPORT, unit=VILLAGES[1], period=month)
    monkeypatch.setattr(events, "utc_now", lambda: dt.datetime.now(dt.UTC))
    with client(world, "county") as county:
        here = data_of(county, REPORTING, under=TOWNSHIP, period=month, level="VILLAGE")
        status = here["reportingStatus"]
        assert status["counts"] == {
            "expected": 2,
            "submitted": 2,
            "onTime": 1,
            "late": 1,
            "missing": 0,
            "returned": 0,
            "completeness": 100.0,
            "timeliness": 50.0,
        }
        assert [row["node"]["unit"]["code"] for row in status["lateUnits"]["edges"]] == [
            VILLAGES[1]
        ]
        above = data_of(county, REPORTING, under=COUNTY, period=month, level="VILLAGE")
        counts = above["reportingStatus"]["counts"]
        assert counts["submitted"] == 2
        assert counts["expected"] == counts["submitted"] + counts["missing"]
        rows = {row["unit"]["code"]: row["counts"] for row in above["reportingStatus"]["below"]}
        assert rows[TOWNSHIP] == {"expected": 2, "submitted": 2}
        assert sum(row["expected"] for row in rows.values()) == counts["expected"]
        missing = above["reportingStatus"]["missingUnits"]
        assert missing["totalCount"] == counts["missing"]
        cursor = missing["edges"][0]["cursor"]
        second = data_of(
            county,
            """query($c: String!) { reportingStatus(under: "640104", period: "2026-08",
              level: VILLAGE) { missingUnits(first: 1, after: $c) {
                edges { node { unit { code } } } } } }""",
            c=cursor,
        )["reportingStatus"]["missingUnits"]["edges"]
        assert second[0]["node"]["unit"]["code"] > missing["edges"][0]["node"]["unit"]["code"]
        # A quarter counts each of its months: the other two months are all missing here.
        quarter = data_of(county, REPORTING, under=TOWNSHIP, period="2026-Q3", level="VILLAGE")
        assert quarter["reportingStatus"]["counts"]["expected"] == 6
        # Townships report funding in a quarter's last month only.
        townships = data_of(county, REPORTING, under=COUNTY, period=month, level="TOWNSHIP")
        assert townships["reportingStatus"]["counts"]["expected"] == 0
    with client(world, "other_city") as other:
        refused = graphql(other, REPORTING, under=COUNTY, period=month, level="VILLAGE")
        assert error_code(refused) == "FORBIDDEN"
        assert refused["data"] is None


def test_bad_acts_are_refused_with_what_was_wrong(world: dict[str, str]) -> None:
    with client(world, "village") as village:
        for period, words in [("2026-Q3", "by month"), ("2030-01", "has not ended")]:
            body = graphql(village, SUBMIT_REPORT, unit=VILLAGES[0], period=period)
            assert error_code(body) == "BAD_USER_INPUT"
            assert words in body["errors"][0]["message"]
        assert (
            error_code(graphql(village, SUBMIT_REPORT, unit=VILLAGES[1], period=MONTH))
            == "FORBIDDEN"
        )
        assert (
            error_code(graphql(village, SUBMIT_REPORT, unit="999999999999", period=MONTH))
            == "NOT_FOUND"
        )
    with client(world, "township") as township:
        body = graphql(township, SUBMIT_REPORT, unit=TOWNSHIP, period=MONTH)
        assert error_code(body) == "BAD_USER_INPUT"
        assert "nothing due" in body["errors"][0]["message"]
        assert error_code(graphql(township, WITHDRAW, unit=TOWNSHIP, period=MONTH)) == "CONFLICT"
        blank = graphql(
            township,
            'mutation { withdrawApproval(unit: "640104012", period: "2026-10", reason: " ") '
            "{ state } }",
        )
        assert error_code(blank) == "BAD_USER_INPUT"
    with client(world, "county") as county:
        assert error_code(graphql(county, REOPEN, unit=VILLAGES[0], period=MONTH)) == "CONFLICT"


def test_rules_per_tree(world: dict[str, str]) -> None:
    """A county where townships do not approve: it waits for the villages' reports itself,
    and its villages' deadline is its own."""
    url = world["url"]
    month = "2026-07"
    county = "640303"  # 7 townships
    changed = quhua(
        "reporting",
        "rule",
        "--at",
        county,
        "--level",
        "township",
        "--no-approves",
        "--reason",
        "townships forward without approving",
        url=url,
    )
    assert changed.exit_code == 0, changed.stdout
    assert (
        quhua(
            "reporting",
            "rule",
            "--at",
            county,
            "--level",
            "village",
            "--deadline-day",
            "7",
            url=url,
        ).exit_code
        == 0
    )
    shown = quhua("reporting", "rules", "--at", county, url=url)
    assert f"township\tdue by day 5\tdoes not approve\t{county}" in shown.stdout
    assert "village\tdue by day 7\tdoes not approve\t640303" in shown.stdout
    with client(world, "admin") as admin:
        rules = data_of(
            admin, '{ reportingRules(unit: "640303") { level deadlineDay approves setAt } }'
        )
        assert {"level": "VILLAGE", "deadlineDay": 7, "approves": False, "setAt": county} in rules[
            "reportingRules"
        ]
        status = data_of(admin, STATUS, unit=county, period=month)["approvalStatus"]
        assert status["state"] == "WAITING"
        assert {w["needs"] for w in status["waitingFor"]} == {"report"}
        assert len(status["waitingFor"][0]["unit"]["code"]) == 12
        township = status["waitingFor"][0]["unit"]["code"][:9]
        township_status = data_of(admin, STATUS, unit=township, period=month)["approvalStatus"]
        assert township_status["state"] == "NOT_APPROVING"
        submitted = data_of(
            admin, SUBMIT_REPORT, unit=status["waitingFor"][0]["unit"]["code"], period=month
        )
        assert submitted["submitReport"]["report"]["deadline"] == "2026-08-07T16:00:00+00:00"
        assert (
            data_of(admin, STATUS, unit=county, period=month)["approvalStatus"]["waitingCount"]
            == status["waitingCount"] - 1
        )


def test_a_write_racing_an_approval_lands_before_it_or_is_locked(world: dict[str, str]) -> None:
    """Writers and the approver take turns on the units: a value either is in what was
    approved, or is refused LOCKED; none slips in after the approval unseen."""
    month = "2026-05"
    township = "640104002"
    with client(world, "admin") as admin:
        villages = [
            edge["node"]["code"]
            for edge in data_of(
                admin,
                '{ jurisdiction(code: "640104002") { children { edges { node { code } } } } }',
            )["jurisdiction"]["children"]["edges"]
        ]
        for village in villages:
            data_of(admin, SUBMIT_REPORT, unit=village, period=month)
    outcomes: list[str] = []

    def write() -> None:
        with client(world, "admin") as writer:
            for value in range(1, 200):
                body = data_of(writer, SUBMIT_VALUE, unit=villages[0], value=value, period=month)
                errors = body["submitValues"]["errors"]
                outcomes.append(errors[0]["code"] if errors else "OK")
                if errors:
                    return

    thread = threading.Thread(target=write)
    thread.start()
    with client(world, "admin") as approver:
        while not outcomes:
            time.sleep(0.01)
        assert data_of(approver, APPROVE, unit=township, period=month)["approve"]["state"] == (
            "APPROVED_HERE"
        )
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert outcomes[-1] == "LOCKED" and set(outcomes[:-1]) == {"OK"}, outcomes
        # What was approved is what is stored: nothing changed after the approval's mark.
        after = data_of(
            approver,
            "query($u: String!, $p: String!) { report(unit: $u, period: $p) {"
            " changesSinceApproval { now } } }",
            u=villages[0],
            p=month,
        )
        assert after["report"]["changesSinceApproval"] == []


def test_expected_units_are_the_tree_as_it_stood(world: dict[str, str], tmp_path: Path) -> None:
    """A village retired on 1 March is expected in February, not in March; a village that
    began on 1 April is expected from April. Submitted never exceeds expected."""
    url, township, gone = world["url"], "640104003", "640104003004"
    retire(url, gone, "2026-03-01", tmp_path)
    added = tmp_path / "new-village.csv"
    added.write_text(
        "code,name,level,parent_code\n640104003999,新建社区居委会,village,640104003\n",
        encoding="utf-8",
    )
    loaded = quhua("divisions", "load", str(added), "--valid-from", "2026-04-01", url=url)
    assert loaded.exit_code == 0, loaded.stdout
    expected = {}
    with client(world, "admin") as admin:
        for month in ("2026-02", "2026-03", "2026-04"):
            body = data_of(admin, REPORTING, under=township, period=month, level="VILLAGE")
            expected[month] = body["reportingStatus"]["counts"]["expected"]
        refused = graphql(admin, SUBMIT_REPORT, unit=gone, period="2026-03")
        assert error_code(refused) == "BAD_USER_INPUT"
        assert "did not exist" in refused["errors"][0]["message"]
        data_of(admin, SUBMIT_REPORT, unit=gone, period="2026-02")
        assert error_code(graphql(admin, SUBMIT_REPORT, unit="640104003999", period="2026-03")) == (
            "BAD_USER_INPUT"
        )
        data_of(admin, SUBMIT_REPORT, unit="640104003999", period="2026-04")
        counts = data_of(admin, REPORTING, under=township, period="2026", level="VILLAGE")[
            "reportingStatus"
        ]["counts"]
    assert expected["2026-02"] == expected["2026-03"] + 1
    assert expected["2026-04"] == expected["2026-03"] + 1
    assert counts["submitted"] == 2 and counts["submitted"] <= counts["expected"]


def test_every_act_is_in_the_history(world: dict[str, str]) -> None:
    month, village = "2026-04", VILLAGES[0]
    with client(world, "township") as township:
        data_of(township, SUBMIT_REPORT, unit=village, period=month)
        data_of(township, SUBMIT_REPORT, unit=VILLAGES[1], period=month)
        data_of(township, RETURN, unit=village, period=month)
        history = data_of(
            township,
            """query($u: String!, $p: String) { reportingHistory(unit: $u, period: $p, first: 2) {
              totalCount edges { node { unit { code } period kind act { actor reason } } } } }""",
            u=TOWNSHIP,
            p=month,
        )["reportingHistory"]
    assert history["totalCount"] == 3
    assert [edge["node"] for edge in history["edges"]] == [
        {
            "unit": {"code": village},
            "period": month,
            "kind": "RETURNED",
            "act": {"actor": "township-approver", "reason": "births look low"},
        },
        {
            "unit": {"code": VILLAGES[1]},
            "period": month,
            "kind": "SUBMITTED",
            "act": {"actor": "township-approver", "reason": "checked"},
        },
    ]
    with client(world, "other_village") as other:
        body = graphql(other, '{ reportingHistory(unit: "640104012001") { totalCount } }')
        assert error_code(body) == "FORBIDDEN"


def test_approved_data_only(world: dict[str, str]) -> None:
    month = "2026-02"
    figure = """query($u: String!, $p: String!) { jurisdiction(code: $u) {
      value(element: "births", period: $p, approvedOnly: true) { value nullReason }
      indicator(code: "sex_ratio_at_birth", period: $p, approvedOnly: true) {
        numerator nullReason } } }"""
    with client(world, "township") as township:
        for village, value in zip(VILLAGES, (2, 5), strict=True):
            data_of(township, SUBMIT_VALUE, unit=village, value=value, period=month)
            data_of(township, SUBMIT_REPORT, unit=village, period=month)
        before = data_of(township, figure, u=TOWNSHIP, p=month)["jurisdiction"]
        assert before["value"]["value"] is None
        assert before["value"]["nullReason"].startswith("not approved data: 2026-02")
        assert before["indicator"]["numerator"] is None
        data_of(township, APPROVE, unit=TOWNSHIP, period=month)
        after = data_of(township, figure, u=TOWNSHIP, p=month)["jurisdiction"]
        assert after["value"] == {"value": 7.0, "nullReason": None}
        assert after["indicator"]["numerator"] == 7.0
        village = data_of(township, figure, u=VILLAGES[1], p=month)["jurisdiction"]
        assert village["value"]["value"] == 5.0
        # A quarter is approved data only when each of its months is.
        quarter = data_of(township, figure, u=TOWNSHIP, p="2026-Q1")["jurisdiction"]
        assert quarter["value"]["value"] is None
        assert "2026-01, 2026-03" in quarter["value"]["nullReason"]
    with client(world, "county") as county:
        above = data_of(county, figure, u=COUNTY, p=month)["jurisdiction"]
        assert above["value"]["value"] is None
        grid = """query($p: String!, $o: RollupOrder) { rollup(under: "640104", level: TOWNSHIP,
          period: $p, elements: ["births"], approvedOnly: true, first: 100, orderBy: $o) {
          codes columns { values nullReasons } } }"""
        for order in (None, {"column": "births", "descending": True}):
            rows = data_of(county, grid, p=month, o=order)["rollup"]
            values = dict(zip(rows["codes"], rows["columns"][0]["values"], strict=True))
            assert values.pop(TOWNSHIP) == 7.0
            assert set(values.values()) == {None}
            assert rows["codes"][0] == TOWNSHIP or order is None
        data_of(county, REOPEN, unit=VILLAGES[0], period=month)
        reopened = data_of(county, figure, u=TOWNSHIP, p=month)["jurisdiction"]
        assert reopened["value"]["value"] is None, "a reopened month is not approved data"


def test_the_demo_cycle_shows_every_state(world: dict[str, str]) -> None:
    """The demo's year: late, missing and returned reports; months approved up to the
    cities, which the API agrees are what approvals of those units need."""
    engine = sync_engine(world["url"])
    try:
        with engine.begin() as connection:
            seeded = seed_cycle(connection, province="64", year=2025, seed=7)
            assert seeded is not None
            assert seed_cycle(connection, province="64", year=2025, seed=7) is None
    finally:
        engine.dispose()
    assert seeded.returned > 0
    with client(world, "admin") as admin:
        december = data_of(admin, REPORTING, under="64", period="2025-12", level="VILLAGE")
        counts = december["reportingStatus"]["counts"]
        rows = {r["unit"]["code"]: r["counts"] for r in december["reportingStatus"]["below"]}
        assert rows == brute_force_counts(world["url"], 2025 * 12 + 11)
        assert counts["late"] > 0
        assert counts["missing"] > 0
        assert counts["returned"] > 0
        listing = """query($p: String!, $l: Level!) { approvalStatuses(under: "64", period: $p,
          level: $l, first: 100) { edges { node { state } } } }"""

        def states(period: str, level: str) -> set[str]:
            edges = data_of(admin, listing, p=period, l=level)["approvalStatuses"]["edges"]
            return {edge["node"]["state"] for edge in edges}

        assert states("2025-03", "CITY") == {"APPROVED_HERE"}
        assert states("2025-03", "COUNTY") == {"APPROVED_ABOVE"}
        assert states("2025-08", "COUNTY") == {"APPROVED_HERE"}
        assert states("2025-08", "CITY") == {"READY"}
        assert "WAITING" in states("2025-12", "COUNTY")
        province = data_of(admin, STATUS, unit="64", period="2025-03")["approvalStatus"]
        assert province["state"] == "READY"


def test_rules_of_high_importance_refuse_the_report(world: dict[str, str]) -> None:
    month, village = "2026-01", VILLAGES[0]
    put = """mutation($u: String!, $p: String!, $e: String!, $v: Float!) {
      submitValues(reason: "monthly", input: [{jurisdiction: $u, element: $e, period: $p,
        value: $v}]) { ok } }"""
    submit = """mutation($u: String!, $p: String!) { submitReport(unit: $u, period: $p) {
      report { state } violations { rule { code importance } leftValue rightValue } } }"""
    with client(world, "village") as clerk:
        data_of(clerk, SUBMIT_VALUE, unit=village, value=1, period=month)
        data_of(clerk, put, u=village, p=month, e="policy_births", v=5)
        data_of(clerk, put, u=village, p=month, e="three_checks_done", v=4)
        data_of(clerk, put, u=village, p=month, e="three_checks_due", v=2)
        refused = graphql(clerk, submit, u=village, p=month)
        assert error_code(refused) == "BAD_USER_INPUT"
        assert (
            "policy_births_within_births for 2026-01 (5 against 1)"
            in (refused["errors"][0]["message"])
        )
        data_of(clerk, put, u=village, p=month, e="policy_births", v=0)
        accepted = data_of(clerk, submit, u=village, p=month)["submitReport"]
    assert accepted["report"]["state"] == "SUBMITTED"
    warnings = {v["rule"]["code"]: v for v in accepted["violations"]}
    assert set(warnings) == {"three_checks_within_due", "births_with_population"}
    assert warnings["three_checks_within_due"] == {
        "rule": {"code": "three_checks_within_due", "importance": "MEDIUM"},
        "leftValue": 4.0,
        "rightValue": 2.0,
    }


def brute_force_counts(url: str, month_index: int) -> dict[str, dict[str, int]]:
    """Expected and submitted village reports per city, counted row by row in Python."""
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            villages = connection.execute(
                select(
                    Jurisdiction.id,
                    Jurisdiction.code,
                    Jurisdiction.valid_from,
                    Jurisdiction.valid_to,
                ).where(Jurisdiction.level == "village", Jurisdiction.code.like("64%"))
            ).all()
            reported = set(
                connection.execute(
                    select(Report.unit_id).where(Report.month_index == month_index)
                ).scalars()
            )
    finally:
        engine.dispose()
    start = dt.date(month_index // 12, month_index % 12 + 1, 1)
    end = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    found: dict[str, dict[str, int]] = {}
    for unit_id, code, valid_from, valid_to in villages:
        # Retired before the month, or begun after it (the first load's units were there).
        if (valid_to is not None and valid_to <= start) or (
            valid_from >= end and valid_from > FIRST_LOAD
        ):
            continue
        counts = found.setdefault(code[:4], {"expected": 0, "submitted": 0})
        counts["expected"] += 1
        counts["submitted"] += unit_id in reported
    return found


def test_an_assessment_counts_approved_data_once_the_year_is_approved(
    world: dict[str, str],
) -> None:
    year = "2024"
    assessment = """{ jurisdiction(code: "640104012") { assessment(year: "2024") { basis } } }"""
    with client(world, "admin") as admin:
        set_targets = """mutation { setTargets(reason: "yearly", input: [{jurisdiction:
          "640104012", year: "2024", indicator: "birth_rate", bound: AT_MOST, value: 100}]) {
          ok } }"""
        assert data_of(admin, set_targets)["setTargets"]["ok"]
        assert data_of(admin, assessment)["jurisdiction"]["assessment"]["basis"] == "ALL_DATA"
        for month in range(1, 13):
            period = f"{year}-{month:02d}"
            units = [*VILLAGES, TOWNSHIP] if month % 3 == 0 else list(VILLAGES)
            for unit in units:
                data_of(admin, SUBMIT_REPORT, unit=unit, period=period)
            data_of(admin, APPROVE, unit=TOWNSHIP, period=period)
            basis = data_of(admin, assessment)["jurisdiction"]["assessment"]["basis"]
            assert basis == ("APPROVED_DATA" if month == 12 else "ALL_DATA")
        data_of(admin, REOPEN, unit=VILLAGES[0], period="2024-05")
        assert data_of(admin, assessment)["jurisdiction"]["assessment"]["basis"] == "ALL_DATA"


def test_a_reopening_needs_a_level_above_every_approval_and_a_new_one(
    world: dict[str, str],
) -> None:
    """In 640303 (townships do not approve: test_rules_per_tree) the county approves over
    its villages' reports. A township's approver cannot reopen what the county approved;
    the county can, and cannot approve again until the reopened report is submitted again;
    figures changed meanwhile are not approved data until then."""
    url, month, county = world["url"], "2026-08", "640303"
    rules = quhua(
        "reporting", "rule", "--at", county, "--level", "township", "--no-approves", url=url
    )
    assert rules.exit_code == 0, rules.stdout
    with client(world, "admin") as admin:
        everyone = data_of(
            admin,
            """query($u: String!) { jurisdictions(level: VILLAGE, under: $u, first: 200) {
              edges { node { code } } } }""",
            u=county,
        )["jurisdictions"]["edges"]
        codes = [edge["node"]["code"] for edge in everyone]
        for start in range(0, len(codes), 20):
            calls = " ".join(
                f'r{n}: submitReport(unit: "{code}", period: "{month}") {{ resubmitted }}'
                for n, code in enumerate(codes[start : start + 20])
            )
            data_of(admin, f"mutation {{ {calls} }}")
        assert data_of(admin, APPROVE, unit=county, period=month)["approve"]["state"] == (
            "APPROVED_HERE"
        )
    township_approver = issue_token(url, "hongsipu-approver", "approver", codes[0][:9])
    with client_for(url, township_approver) as township:
        refused = graphql(township, REOPEN, unit=codes[0], period=month)
        assert error_code(refused) == "LOCKED"
        assert county in refused["errors"][0]["message"]
    figure = """query($u: String!) { jurisdiction(code: $u) {
      value(element: "births", period: "2026-08", approvedOnly: true) { nullReason } } }"""

    def approved(admin: TestClient) -> bool:
        reason = data_of(admin, figure, u=codes[0])["jurisdiction"]["value"]["nullReason"]
        return not (reason or "").startswith("not approved data")

    with client(world, "admin") as admin:
        assert approved(admin)
        data_of(admin, REOPEN, unit=codes[0], period=month)
        assert not approved(admin)
        data_of(admin, WITHDRAW, unit=county, period=month)
        again = graphql(admin, APPROVE, unit=county, period=month)
        assert error_code(again) == "CONFLICT"
        assert f"submitted again: {codes[0]}" in again["errors"][0]["message"]
        data_of(admin, SUBMIT_REPORT, unit=codes[0], period=month)
        data_of(admin, APPROVE, unit=county, period=month)
        assert approved(admin)


def test_who_acted_and_the_values_as_approved_are_the_audit(world: dict[str, str]) -> None:
    """An aggregate reader reads report states, not who acted, nor values."""
    reader = issue_token(world["url"], "stats-system", "aggregate_reader", "64")
    with client_for(world["url"], reader) as system:
        asked = """query($u: String!) { report(unit: $u, period: "2026-11") { %s } }"""
        assert data_of(system, asked % "state", u=VILLAGES[0])["report"] == {"state": "SUBMITTED"}
        for field in ("changesSinceApproval { now }", "lastSubmitted { actor }"):
            assert error_code(graphql(system, asked % field, u=VILLAGES[0])) == "FORBIDDEN"
