"""Submitting, correcting, deleting and reading values; the audit of every change."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import TOKENS, client_for, data_of, graphql
from tests.databases import issue_token

VILLAGE = "640104001002"
OTHER_VILLAGE = "640104001003"
SUBMIT = """mutation($rows: [ValueInput!]!, $reason: String! = "monthly report") {
  submitValues(input: $rows, reason: $reason) {
    ok changed unchanged errors { index code message }
  }
}"""
READ = """query($code: String!, $period: String!) {
  jurisdiction(code: $code) {
    values(period: $period) { element disaggregation period value }
    auditTrail { totalCount edges { node {
      actor element disaggregation period oldValue newValue reason source } } }
  }
}"""


def row(**fields: Any) -> dict[str, Any]:
    base = {
        "jurisdiction": VILLAGE,
        "element": "births",
        "period": "2024-03",
        "value": 2,
        "disaggregation": "sex=male;parity=1",
    }
    return {**base, **fields}


@pytest.fixture
def world(catalogue_url: str) -> Iterator[tuple[str, TestClient]]:
    """Ningxia, the default catalogue, and a reporter of one township."""
    TOKENS[catalogue_url] = issue_token(catalogue_url, "admin", "admin", "64")
    with client_for(catalogue_url, issue_token(catalogue_url, "li", "reporter", "640104001")) as c:
        yield catalogue_url, c


def submit(
    client: TestClient, *rows: dict[str, Any], reason: str = "monthly report"
) -> dict[str, Any]:
    result: dict[str, Any] = data_of(client, SUBMIT, rows=list(rows), reason=reason)["submitValues"]
    return result


def test_submit_read_correct_and_audit(world: tuple[str, TestClient]) -> None:
    _, reporter = world
    first = submit(reporter, row(), row(disaggregation="sex=female;parity=2", value=1))
    assert first == {"ok": True, "changed": 2, "unchanged": 0, "errors": []}
    again = submit(reporter, row())
    assert again == {"ok": True, "changed": 0, "unchanged": 1, "errors": []}
    corrected = submit(reporter, row(value=3), reason="late birth certificate")
    assert corrected["changed"] == 1
    unit = data_of(reporter, READ, code=VILLAGE, period="2024")["jurisdiction"]
    assert unit["values"] == [
        {
            "element": "births",
            "disaggregation": "parity=1;sex=male",
            "period": "2024-03",
            "value": 3.0,
        },
        {
            "element": "births",
            "disaggregation": "parity=2;sex=female",
            "period": "2024-03",
            "value": 1.0,
        },
    ]
    trail = unit["auditTrail"]
    assert trail["totalCount"] == 3
    newest = trail["edges"][0]["node"]
    assert newest == {
        "actor": "li",
        "element": "births",
        "disaggregation": "parity=1;sex=male",
        "period": "2024-03",
        "oldValue": 2.0,
        "newValue": 3.0,
        "reason": "late birth certificate",
        "source": "api",
    }
    assert data_of(reporter, READ, code=VILLAGE, period="2024-04")["jurisdiction"]["values"] == []


BAD = [
    (row(element="birth"), "BAD_USER_INPUT", "unknown element 'birth'"),
    (row(disaggregation="sex=male"), "BAD_USER_INPUT", "births needs an option of parity"),
    (row(disaggregation="sex=boy;parity=1"), "BAD_USER_INPUT", "sex has no option 'boy'"),
    (row(period="2024-Q1"), "BAD_USER_INPUT", "births is reported by month, not by quarter"),
    (row(period="2024-13"), "BAD_USER_INPUT", "is not a period"),
    (row(value=-1), "BAD_USER_INPUT", "-1 is negative"),
    (row(value=1.5), "BAD_USER_INPUT", "1.5 is not a whole number"),
    (row(jurisdiction="649999999999"), "NOT_FOUND", "no jurisdiction has code"),
    (row(jurisdiction="640104002001"), "FORBIDDEN", "outside what you may report for"),
    (row(jurisdiction="640104001"), "BAD_USER_INPUT", "births is reported by village units"),
    (row(element="deaths", disaggregation="sex=male"), "BAD_USER_INPUT", "deaths has no category"),
]


@pytest.mark.parametrize(("bad", "code", "message"), BAD, ids=[m for _, _, m in BAD])
def test_a_bad_row_is_reported_and_nothing_is_written(
    world: tuple[str, TestClient], bad: dict[str, Any], code: str, message: str
) -> None:
    _, reporter = world
    good = row(jurisdiction=OTHER_VILLAGE, value=4)
    result = submit(reporter, good, bad)
    assert result["ok"] is False
    assert result["changed"] == 0
    [error] = result["errors"]
    assert error["index"] == 1
    assert error["code"] == code
    assert message in error["message"]
    values = data_of(reporter, READ, code=OTHER_VILLAGE, period="2024")["jurisdiction"]["values"]
    assert values == []


def test_the_same_value_twice_in_one_submission_is_refused(world: tuple[str, TestClient]) -> None:
    _, reporter = world
    result = submit(reporter, row(), row(value=5))
    assert result["errors"] == [
        {"index": 1, "code": "BAD_USER_INPUT", "message": "the same value as row 0"}
    ]


def test_roles_decide_who_reads_and_writes(world: tuple[str, TestClient]) -> None:
    url, reporter = world
    submit(reporter, row())
    with client_for(url, issue_token(url, "viewer", "viewer", "6401")) as viewer:
        assert data_of(viewer, READ, code=VILLAGE, period="2024")["jurisdiction"]["values"]
        refused = submit(viewer, row(value=9))
        assert refused["errors"][0]["code"] == "FORBIDDEN"
    with client_for(url, issue_token(url, "system", "aggregate_reader", "64")) as system:
        body = graphql(system, READ, code=VILLAGE, period="2024")
        assert body["data"]["jurisdiction"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The township's ancestors are visible by name, their values are not.
    body = graphql(reporter, READ, code="640104", period="2024")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_an_outdated_expected_value_is_a_conflict(world: tuple[str, TestClient]) -> None:
    _, reporter = world
    submit(reporter, row(value=2))
    stale = submit(reporter, row(value=7, expected=1))
    assert stale["errors"] == [
        {"index": 0, "code": "CONFLICT", "message": "2 is stored now, not what you expected"}
    ]
    fresh = submit(reporter, row(value=7, expected=2))
    assert fresh["changed"] == 1
    new = submit(reporter, row(period="2024-05", value=1, expected=None))
    assert new["changed"] == 1


def test_deleting_is_audited(world: tuple[str, TestClient]) -> None:
    _, reporter = world
    submit(reporter, row())
    key = {k: v for k, v in row().items() if k != "value"}
    deleted = data_of(
        reporter,
        'mutation($rows: [ValueKeyInput!]!) { deleteValues(input: $rows, reason: "typo") '
        "{ ok changed } }",
        rows=[key],
    )
    assert deleted["deleteValues"] == {"ok": True, "changed": 1}
    unit = data_of(reporter, READ, code=VILLAGE, period="2024")["jurisdiction"]
    assert unit["values"] == []
    assert unit["auditTrail"]["edges"][0]["node"]["newValue"] is None
    assert unit["auditTrail"]["edges"][0]["node"]["reason"] == "typo"


def test_racing_writers_never_lose_an_update_silently(world: tuple[str, TestClient]) -> None:
    """Two apps (as two processes) write one key at once, many times."""
    url, reporter = world
    token = issue_token(url, "zhang", "reporter", "640104001")
    with client_for(url, token) as other, ThreadPoolExecutor(max_workers=2) as pool:
        for attempt in range(10):
            # Without expected: both land, one after the other, both audited.
            period = f"2023-{attempt + 1:02d}"
            outcomes = list(
                pool.map(
                    lambda job: submit(job[0], row(period=job[2], value=job[1])),
                    [(reporter, 10 + attempt, period), (other, 20 + attempt, period)],
                )
            )
            assert all(o["ok"] for o in outcomes), outcomes
        unit = data_of(reporter, READ, code=VILLAGE, period="2023")["jurisdiction"]
        assert len(unit["values"]) == 10
        assert unit["auditTrail"]["totalCount"] == 20
        trail = [e["node"] for e in unit["auditTrail"]["edges"]]
        for value in unit["values"]:
            # What is stored is what the last change to that key wrote.
            last = next(t for t in trail if t["period"] == value["period"])
            assert last["newValue"] == value["value"]
            first = [t for t in trail if t["period"] == value["period"]][-1]
            assert first["oldValue"] is None
        # With expected: of two racing corrections of the same value, exactly one wins.
        for attempt in range(5):
            [now] = data_of(reporter, READ, code=VILLAGE, period="2023-01")["jurisdiction"][
                "values"
            ]
            outcomes = list(
                pool.map(
                    lambda job: submit(
                        job[0], row(period="2023-01", value=job[1], expected=job[2])
                    ),
                    [(reporter, 100 + attempt, now["value"]), (other, 200 + attempt, now["value"])],
                )
            )
            codes = sorted(o["errors"][0]["code"] if o["errors"] else "OK" for o in outcomes)
            assert codes == ["CONFLICT", "OK"]
            winner = next(o for o in outcomes if o["ok"])
            [after] = data_of(reporter, READ, code=VILLAGE, period="2023-01")["jurisdiction"][
                "values"
            ]
            assert after["value"] == (100 if winner is outcomes[0] else 200) + attempt


EVERYTHING = READ.replace("auditTrail {", "auditTrail(first: 1000) {")
ROLLED = """query($code: String!, $period: String!) {
  jurisdiction(code: $code) { value(element: "births", period: $period) { value } } }"""


def test_an_import_racing_api_writes_loses_nothing(
    world: tuple[str, TestClient], tmp_path: Path
) -> None:
    """`quhua values import` (its own process) and API submits write the same keys at once."""
    url, reporter = world
    villages = [f"640104001{n:03d}" for n in (2, 3, 5, 7, 8, 10)]
    cells = [
        (village, f"2023-{month:02d}", f"sex={sex};parity=1")
        for village in villages
        for month in range(1, 7)
        for sex in ("male", "female")
    ]
    path = tmp_path / "births.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("jurisdiction,element,period,value,disaggregation\n")
        handle.writelines(f"{v},births,{p},7,{d}\n" for v, p, d in cells)
    command = [sys.executable, "-m", "quhua", "values", "import", str(path), "--database-url", url]
    importer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    round_ = 0
    # Submits go on for as long as the import runs, and at least 8 times.
    while importer.poll() is None or round_ < 8:
        round_ += 1
        rows = [
            row(jurisdiction=v, period=p, disaggregation=d, value=round_)
            for v, p, d in cells[round_ % 3 :: 5]
        ]
        outcome = submit(reporter, *rows)
        assert outcome["ok"], outcome
    output, _ = importer.communicate(timeout=120)
    assert importer.returncode == 0, output
    for village in villages:
        unit = data_of(reporter, EVERYTHING, code=village, period="2023")["jurisdiction"]
        trail = [e["node"] for e in unit["auditTrail"]["edges"]][::-1]
        stored = {(v["period"], v["disaggregation"]): v["value"] for v in unit["values"]}
        history: dict[tuple[str, str], float | None] = {}
        for change in trail:
            key = (change["period"], change["disaggregation"])
            # Each change starts from what the previous one left: no update lost.
            assert change["oldValue"] == history.get(key), (village, change)
            history[key] = change["newValue"]
        assert history == stored
        assert {c["source"].split(" ")[0] for c in trail} == {"api", "import"}
    # The roll-ups agree with the values, whoever wrote them last.
    raw = sum(
        v["value"]
        for village in villages
        for v in data_of(reporter, READ, code=village, period="2023")["jurisdiction"]["values"]
    )
    township = data_of(reporter, ROLLED, code="640104001", period="2023")["jurisdiction"]
    assert township["value"]["value"] == raw


PERIOD_TRAIL = """query($code: String!, $period: String) {
  jurisdiction(code: $code) { auditTrail(period: $period) { totalCount edges { node { period } } } }
}"""


def test_audit_trail_keeps_to_the_asked_period(world: tuple[str, TestClient]) -> None:
    """The trail of one month, quarter or year holds the changes to values inside it only."""
    _, reporter = world
    submit(reporter, row(period="2024-03"), row(period="2024-04"), row(period="2025-01"))
    submit(reporter, row(period="2024-03", value=5), reason="recount")

    def periods(period: str | None) -> list[str]:
        trail = data_of(reporter, PERIOD_TRAIL, code=VILLAGE, period=period)["jurisdiction"]
        found = [edge["node"]["period"] for edge in trail["auditTrail"]["edges"]]
        assert trail["auditTrail"]["totalCount"] == len(found)
        return found

    assert periods("2024-03") == ["2024-03", "2024-03"]
    assert periods("2024-Q1") == ["2024-03", "2024-03"]
    assert periods("2024-Q2") == ["2024-04"]
    assert periods("2024") == ["2024-03", "2024-04", "2024-03"]
    assert periods(None) == ["2024-03", "2025-01", "2024-04", "2024-03"]
    assert periods("2023") == []
    answer = graphql(reporter, PERIOD_TRAIL, code=VILLAGE, period="2024-13")
    assert "is not a period" in answer["errors"][0]["message"]
