"""The change feed: what moved after a cursor, scoped, in commit order, missing nothing."""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from starlette.testclient import TestClient

from core.db.engine import sync_engine
from indicators.feed import changes as feed_changes
from quhua.pull import Fetch, Follow, answer_data, http_fetch, mirrored, pull
from tests.cli import quhua
from tests.conftest import client_for, data_of, graphql
from tests.databases import issue_token
from tests.processes import quhua_server

SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "report") { ok errors { message } } }"""
DELETE = """mutation($rows: [ValueKeyInput!]!) {
  deleteValues(input: $rows, reason: "withdrawn") { ok errors { message } } }"""
CHANGES = """query($under: String!, $level: Level!, $after: String, $first: Int,
  $periodType: PeriodType! = MONTH, $elements: [String!], $indicators: [String!]) {
  changes(under: $under, level: $level, after: $after, first: $first, periodType: $periodType,
          elements: $elements, indicators: $indicators) {
    changes { unit level period kind code value numerator denominator reportingUnits
              expectedUnits cursor }
    resets { sequence reason }
    endCursor hasMore } }"""
VILLAGE = "640104001002"
OTHER_VILLAGE = "640104001005"
OTHER_COUNTY_VILLAGE = "640105001002"
XINGQING = "640104"


def births(unit: str, period: str, value: float | None, sex: str = "male") -> dict[str, Any]:
    return {
        "jurisdiction": unit,
        "element": "births",
        "period": period,
        "disaggregation": f"sex={sex};parity=1",
        "value": value,
    }


@pytest.fixture
def ningxia(catalogue_url: str) -> Iterator[tuple[str, TestClient]]:
    with client_for(catalogue_url, issue_token(catalogue_url, "admin", "admin", "64")) as client:
        yield catalogue_url, client


def follow(
    client: TestClient, after: str | None = None, **arguments: Any
) -> tuple[dict[Any, Any], str]:
    """Every page from the cursor: the latest figure of each aggregate, and the end."""
    held: dict[Any, Any] = {}
    while True:
        page = data_of(client, CHANGES, after=after, **arguments)["changes"]
        for change in page["changes"]:
            held[(change["unit"], change["period"], change["kind"], change["code"])] = change[
                "value"
            ]
        after = page["endCursor"]
        if not page["hasMore"]:
            return held, after


def test_feed_gives_moved_aggregates_at_the_level(ningxia: tuple[str, TestClient]) -> None:
    _, client = ningxia
    done = data_of(
        client, SUBMIT, rows=[births(VILLAGE, "2024-03", 3), births(OTHER_VILLAGE, "2024-03", 2)]
    )
    assert done["submitValues"]["ok"], done
    held, end = follow(client, under="64", level="COUNTY", elements=["births"])
    assert held == {(XINGQING, "2024-03", "element", "births"): 5.0}
    # Nothing after the end; a change after it comes next.
    assert follow(client, end, under="64", level="COUNTY", elements=["births"])[0] == {}
    assert data_of(client, SUBMIT, rows=[births(VILLAGE, "2024-03", 10)])["submitValues"]["ok"]
    held, end = follow(client, end, under="64", level="COUNTY", elements=["births"])
    assert held == {(XINGQING, "2024-03", "element", "births"): 12.0}
    held, _ = follow(
        client, None, under="64", level="COUNTY", elements=["births"], periodType="YEAR"
    )
    assert held == {(XINGQING, "2024", "element", "births"): 12.0}


# Villages of two counties of Yinchuan (6401) and one of Shizuishan (6402): the follower
# holds Yinchuan; writes to Shizuishan must never reach it.
VILLAGES = [VILLAGE, OTHER_VILLAGE, OTHER_COUNTY_VILLAGE, "640202001001"]
MONTHS = ["2024-01", "2024-02", "2024-03"]
COUNTY_PATH = len("64/6401/640104/")


def through(client: TestClient) -> Fetch:
    """The pull client's transport, through the ASGI app in the test's process."""

    def fetch(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return answer_data(
            client.post("/graphql", json={"query": query, "variables": variables}).json()
        )

    return fetch


def brute_force(url: str, root: str = "64/6401/") -> dict[tuple[str, str, str, str], float]:
    """Births by county and month under the root, summed from data_values alone."""
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT j.path, v.month_index, v.value FROM data_values v"
                    " JOIN jurisdictions j ON j.id = v.jurisdiction_id"
                    " JOIN option_combos c ON c.id = v.combo_id"
                    " JOIN data_elements e ON e.id = c.element_id"
                    " WHERE e.code = 'births' AND j.path LIKE :root"
                ),
                {"root": root + "%"},
            ).all()
            unstamped = connection.execute(
                text("SELECT count(*) FROM change_sets WHERE seq IS NULL")
            ).scalar_one()
    finally:
        engine.dispose()
    assert unstamped == 0, "every committed change set has its place in the feed"
    sums: dict[tuple[str, str, str, str], float] = defaultdict(float)
    for path, month, value in rows:
        county = path[:COUNTY_PATH].rstrip("/").rsplit("/", 1)[-1]
        sums[(county, f"{month // 12}-{month % 12 + 1:02d}", "element", "births")] += float(value)
    return dict(sums)


def present(held: dict[Any, Any]) -> dict[Any, Any]:
    """The aggregates that hold a figure (an aggregate whose values were all deleted is null)."""
    return {key: value for key, value in held.items() if value is not None}


@pytest.fixture
def yinchuan(
    ningxia: tuple[str, TestClient], tmp_path: Path
) -> Iterator[tuple[str, TestClient, TestClient]]:
    """The admin's client and an aggregate reader's of Yinchuan."""
    url, admin = ningxia
    with client_for(url, issue_token(url, "yinchuan-puller", "aggregate_reader", "6401")) as reader:
        yield url, admin, reader


COUNTIES = Follow(under="6401", level="COUNTY", elements=("births",))
_examples = itertools.count()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(
                st.just("write"),
                st.lists(
                    st.tuples(
                        st.sampled_from(VILLAGES),
                        st.sampled_from(MONTHS),
                        st.sampled_from(["male", "female"]),
                        st.one_of(st.none(), st.integers(0, 9)),
                    ),
                    min_size=1,
                    max_size=4,
                    unique_by=lambda row: row[:3],
                ),
            ),
            st.tuples(st.just("pull"), st.integers(1, 3), st.integers(1, 2)),
        ),
        max_size=12,
    )
)
def test_a_follower_ends_with_every_aggregate_of_its_scope(
    yinchuan: tuple[str, TestClient, TestClient], tmp_path: Path, steps: list[Any]
) -> None:
    url, admin, reader = yinchuan
    into = f"sqlite:///{tmp_path}/mirror.sqlite3"
    source = f"example-{next(_examples)}"
    for step in steps:
        if step[0] == "write":
            rows = [births(unit, month, value, sex) for unit, month, sex, value in step[1]]
            kept = [row for row in rows if row["value"] is not None]
            gone = [
                {k: v for k, v in row.items() if k != "value"} for row in rows if row not in kept
            ]
            if kept:
                assert data_of(admin, SUBMIT, rows=kept)["submitValues"]["ok"]
            if gone:
                # Deleting what is not stored changes nothing: the answer may refuse it.
                data_of(admin, DELETE, rows=gone)
        else:
            _, page_size, pages = step
            pull(
                through(reader),
                source=source,
                into=into,
                follow=COUNTIES,
                page_size=page_size,
                max_pages=pages,
            )
    pull(through(reader), source=source, into=into, follow=COUNTIES, page_size=2)
    held = mirrored(into, source, COUNTIES)
    assert all(unit.startswith("6401") for unit, *_ in held)
    assert present(held) == brute_force(url)


def test_a_cursor_past_a_reset_reads_the_scope_again(
    yinchuan: tuple[str, TestClient, TestClient], tmp_path: Path
) -> None:
    url, admin, reader = yinchuan
    into = f"sqlite:///{tmp_path}/mirror.sqlite3"
    assert data_of(admin, SUBMIT, rows=[births(VILLAGE, "2024-03", 4)])["submitValues"]["ok"]
    first = pull(through(reader), source="s", into=into, follow=COUNTIES)
    assert first.resets == [] and present(mirrored(into, "s", COUNTIES)) == brute_force(url)
    rebuilt = quhua("rollups", "rebuild", url=url)
    assert rebuilt.exit_code == 0, rebuilt.stderr
    page = data_of(
        reader, CHANGES, under="6401", level="COUNTY", after=first.cursor, elements=["births"]
    )
    assert [r["reason"] for r in page["changes"]["resets"]] == ["the store was rebuilt"]
    again = pull(through(reader), source="s", into=into, follow=COUNTIES)
    assert again.resets == ["the store was rebuilt"]
    assert present(mirrored(into, "s", COUNTIES)) == brute_force(url)
    # Read once: the next pull finds nothing new.
    assert pull(through(reader), source="s", into=into, follow=COUNTIES).resets == []


def test_the_feed_is_scoped_like_the_grid(yinchuan: tuple[str, TestClient, TestClient]) -> None:
    url, admin, reader = yinchuan
    assert data_of(
        admin, SUBMIT, rows=[births(VILLAGE, "2024-03", 4), births("640202001001", "2024-03", 7)]
    )["submitValues"]["ok"]
    for under in ("64", "6402", "640202"):
        body = graphql(reader, CHANGES, under=under, level="COUNTY", elements=["births"])
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", under
    # Village figures are reported values: an aggregate reader may not follow them.
    body = graphql(reader, CHANGES, under="6401", level="VILLAGE", elements=["births"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    with client_for(url) as anonymous:
        body = graphql(anonymous, CHANGES, under="6401", level="COUNTY", elements=["births"])
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        body = graphql(anonymous, "{ feedHead }")
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    held, _ = follow(reader, under="6401", level="COUNTY", elements=["births"])
    assert held == {(XINGQING, "2024-03", "element", "births"): 4.0}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"after": "nonsense"}, "after: not a cursor of the change feed"),
        ({"after": "ZjEuMS4"}, "after: not a cursor of the change feed"),
        # f1.99999999999999999999.0 and f1.1.2147483648: numbers no cursor holds.
        ({"after": "ZjEuOTk5OTk5OTk5OTk5OTk5OTk5OTkuMA"}, "after: not a cursor of the change"),
        ({"after": "ZjEuMS4yMTQ3NDgzNjQ4"}, "after: not a cursor of the change feed"),
        # f1.99.0: past the head of a feed restored from an older backup.
        ({"after": "ZjEuOTkuMA"}, "after: the cursor lies past this feed's last commit"),
        ({"first": 1001}, "first: 1001 is out of range"),
        ({"first": 0}, "first: a page of the feed holds at least 1 aggregate"),
        ({"elements": ["nothing"]}, "elements: unknown element 'nothing'"),
        ({"indicators": ["nothing"]}, "indicators: unknown indicator 'nothing'"),
        ({"level": "PROVINCE", "under": "6401"}, "level: province lies above 6401"),
        ({"under": "99"}, "under: no jurisdiction has code '99'"),
    ],
)
def test_bad_arguments_are_named(
    ningxia: tuple[str, TestClient], arguments: dict[str, Any], message: str
) -> None:
    _, admin = ningxia
    asked = {"under": "64", "level": "COUNTY", "elements": ["births"], **arguments}
    body = graphql(admin, CHANGES, **asked)
    assert body["errors"][0]["message"].startswith(message), body


def test_indicators_follow_their_elements(ningxia: tuple[str, TestClient]) -> None:
    _, admin = ningxia
    population = {
        "jurisdiction": VILLAGE,
        "element": "population",
        "period": "2024-03",
        "disaggregation": "sex=male",
        "value": 500,
    }
    assert data_of(admin, SUBMIT, rows=[births(VILLAGE, "2024-03", 5), population])["submitValues"][
        "ok"
    ]
    page = data_of(admin, CHANGES, under="64", level="COUNTY", indicators=["birth_rate"])["changes"]
    (change,) = page["changes"]
    grid = data_of(
        admin,
        """{ jurisdiction(code: "640104") {
          indicator(code: "birth_rate", period: "2024-03") { value numerator denominator } } }""",
    )["jurisdiction"]["indicator"]
    assert (change["kind"], change["code"], change["unit"]) == ("indicator", "birth_rate", XINGQING)
    assert (change["value"], change["numerator"], change["denominator"]) == (
        grid["value"],
        grid["numerator"],
        grid["denominator"],
    )


def test_pages_end_where_their_last_aggregate_moved(ningxia: tuple[str, TestClient]) -> None:
    _, admin = ningxia
    for month in MONTHS:
        assert data_of(
            admin, SUBMIT, rows=[births(VILLAGE, month, 1), births(OTHER_COUNTY_VILLAGE, month, 2)]
        )["submitValues"]["ok"]
    seen: list[tuple[str, str]] = []
    after = None
    while True:
        page = data_of(
            admin, CHANGES, under="64", level="COUNTY", first=1, after=after, elements=["births"]
        )["changes"]
        seen += [(c["unit"], c["period"]) for c in page["changes"]]
        assert len(page["changes"]) <= 1
        after = page["endCursor"]
        if not page["hasMore"]:
            break
    assert sorted(seen) == sorted(
        (county, month) for month in MONTHS for county in (XINGQING, "640105")
    )


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_concurrent_writers_in_several_processes_miss_nothing(
    yinchuan: tuple[str, TestClient, TestClient], tmp_path: Path
) -> None:
    """Writers through a server of two worker processes; the follower pulls as they commit."""
    url, _, _ = yinchuan
    writer_token = issue_token(url, "writer", "admin", "64")
    reader_token = issue_token(url, "puller", "aggregate_reader", "6401")
    into = f"sqlite:///{tmp_path}/mirror.sqlite3"
    env = {"QUHUA_DATABASE_URL": url}
    with quhua_server("serve", "--workers", "2", folder=tmp_path, env=env) as server:
        failures: list[str] = []

        def write(seed: int) -> None:
            chooser = random.Random(seed)
            headers = {"Authorization": f"Bearer {writer_token}"}
            with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
                for _ in range(12):
                    rows = [
                        births(
                            chooser.choice(VILLAGES),
                            chooser.choice(MONTHS),
                            chooser.randint(0, 9),
                            sex,
                        )
                        for sex in ("male", "female")
                    ]
                    body = client.post(
                        "/graphql", json={"query": SUBMIT, "variables": {"rows": rows}}
                    ).json()
                    if not body["data"]["submitValues"]["ok"]:
                        failures.append(str(body))

        writers = [threading.Thread(target=write, args=(seed,)) for seed in range(3)]
        for writer in writers:
            writer.start()
        fetch = http_fetch(server.base, reader_token)
        pulls = 0
        while any(writer.is_alive() for writer in writers):
            pull(fetch, source=server.base, into=into, follow=COUNTIES, page_size=3)
            pulls += 1
        for writer in writers:
            writer.join()
        pull(fetch, source=server.base, into=into, follow=COUNTIES, page_size=3)
    assert failures == []
    assert pulls > 1
    assert present(mirrored(into, server.base, COUNTIES)) == brute_force(url)


LIVE = """subscription($under: String!, $after: String) {
  aggregateChanges(under: $under, level: COUNTY, elements: ["births"], after: $after) {
    changes { unit period value } endCursor hasMore } }"""


def test_subscribers_are_told_as_changes_commit_and_resume_from_a_cursor(
    yinchuan: tuple[str, TestClient, TestClient],
) -> None:
    url, admin, _ = yinchuan
    token = issue_token(url, "yinchuan-live", "aggregate_reader", "6401")
    assert data_of(admin, SUBMIT, rows=[births(VILLAGE, "2024-03", 3)])["submitValues"]["ok"]
    with client_for(url) as anonymous:
        with anonymous.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            )
            assert ws.receive_json() == {"type": "connection_ack"}
            ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": LIVE, "variables": {"under": "6401"}},
                }
            )
            # From now: what was committed before the subscription is not pushed.
            assert data_of(
                admin,
                SUBMIT,
                rows=[births(VILLAGE, "2024-03", 5), births("640202001001", "2024-03", 9)],
            )["submitValues"]["ok"]
            pushed = ws.receive_json()
            assert pushed["type"] == "next", pushed
            assert pushed["payload"].get("data"), pushed
            page = pushed["payload"]["data"]["aggregateChanges"]
            assert page["changes"] == [{"unit": XINGQING, "period": "2024-03", "value": 5.0}]
            cursor = page["endCursor"]
        # Changes while disconnected arrive on resuming from the last cursor.
        assert data_of(admin, SUBMIT, rows=[births(VILLAGE, "2024-04", 2)])["submitValues"]["ok"]
        with anonymous.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            )
            assert ws.receive_json() == {"type": "connection_ack"}
            variables = {"under": "6401", "after": cursor}
            ws.send_json(
                {"id": "2", "type": "subscribe", "payload": {"query": LIVE, "variables": variables}}
            )
            page = ws.receive_json()["payload"]["data"]["aggregateChanges"]
            assert page["changes"] == [{"unit": XINGQING, "period": "2024-04", "value": 2.0}]
            # Another city is refused, as `changes` refuses it.
            ws.send_json(
                {
                    "id": "3",
                    "type": "subscribe",
                    "payload": {"query": LIVE, "variables": {"under": "6402"}},
                }
            )
            refused = ws.receive_json()
            assert refused["id"] == "3" and refused["type"] in {"error", "next"}, refused
            errors = (
                refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
            )
            assert "extensions" in errors[0], refused
            assert errors[0]["extensions"]["code"] == "FORBIDDEN"
        with anonymous.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json(
                {"type": "connection_init", "payload": {"Authorization": "Bearer nonsense"}}
            )
            closed = ws.receive()
            assert closed["type"] == "websocket.close" and closed["code"] == 4403


def _pull(*args: str, token: str, cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "quhua", "pull", *args, "--json"],
        cwd=cwd,
        env={**os.environ, "QUHUA_PULL_TOKEN": token},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_pull_mirrors_resumes_and_keeps_to_its_scope(
    yinchuan: tuple[str, TestClient, TestClient], tmp_path: Path
) -> None:
    url, admin, _ = yinchuan
    token = issue_token(url, "province-system", "aggregate_reader", "6401")
    into = f"sqlite:///{tmp_path}/mirror.sqlite3"
    rows = [births(VILLAGE, month, 2) for month in ("2024-01", "2024-02", "2024-03")]
    assert data_of(admin, SUBMIT, rows=[*rows, births("640202001001", "2024-01", 5)])[
        "submitValues"
    ]["ok"]
    with quhua_server("serve", folder=tmp_path, env={"QUHUA_DATABASE_URL": url}) as server:
        args = (
            "--from",
            server.base,
            "--into",
            into,
            "--under",
            "6401",
            "--level",
            "county",
            "--elements",
            "births",
            "--page-size",
            "1",
        )
        first = _pull(*args, token=token, cwd=tmp_path)
        assert first["aggregates"] == 3 and first["pages"] == 3
        assert present(mirrored(into, server.base, COUNTIES)) == brute_force(url)
        # Only what moved since is read again.
        assert data_of(admin, SUBMIT, rows=[births(VILLAGE, "2024-02", 7)])["submitValues"]["ok"]
        second = _pull(*args, token=token, cwd=tmp_path)
        assert second["aggregates"] == 1
        assert present(mirrored(into, server.base, COUNTIES)) == brute_force(url)
        # Another city is refused with the remote's reason.
        refused = subprocess.run(
            [
                sys.executable,
                "-m",
                "quhua",
                "pull",
                *args[:4],
                "--under",
                "6402",
                "--level",
                "county",
                "--token",
                token,
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert refused.returncode != 0
        assert "FORBIDDEN" in refused.stderr and "6402" in refused.stderr


def test_a_unit_that_begins_resets_the_feed(
    ningxia: tuple[str, TestClient], tmp_path: Path
) -> None:
    url, admin = ningxia
    cursor = data_of(admin, "{ feedHead }")["feedHead"]
    tree = tmp_path / "new-village.csv"
    tree.write_text(
        "code,name,level,parent_code\n640104001999,新社区居委会,village,640104001\n",
        encoding="utf-8",
    )
    loaded = quhua("divisions", "load", str(tree), "--valid-from", "2024-06-01", url=url)
    assert loaded.exit_code == 0, loaded.stdout + loaded.stderr
    page = data_of(admin, CHANGES, under="64", level="COUNTY", after=cursor, elements=["births"])
    (reset,) = page["changes"]["resets"]
    assert reset["reason"] == "the division tree changed"
    # Loading the same file again changes nothing, and says nothing.
    cursor = page["changes"]["endCursor"]
    assert quhua("divisions", "load", str(tree), url=url).exit_code == 0
    page = data_of(admin, CHANGES, under="64", level="COUNTY", after=cursor, elements=["births"])
    assert page["changes"]["resets"] == []


def test_the_feed_over_http_answers_as_graphql(
    yinchuan: tuple[str, TestClient, TestClient],
) -> None:
    url, admin, reader = yinchuan
    assert data_of(
        admin, SUBMIT, rows=[births(VILLAGE, "2024-03", 4), births("640202001001", "2024-03", 7)]
    )["submitValues"]["ok"]
    answer = reader.get(
        "/export/changes", params={"under": "6401", "level": "county", "elements": "births"}
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    graphql_page = data_of(reader, CHANGES, under="6401", level="COUNTY", elements=["births"])[
        "changes"
    ]
    assert [(c["unit"], c["period"], c["value"], c["cursor"]) for c in page["changes"]] == [
        (c["unit"], c["period"], c["value"], c["cursor"]) for c in graphql_page["changes"]
    ]
    assert page["endCursor"] == graphql_page["endCursor"] and page["hasMore"] is False
    following = reader.get(
        "/export/changes", params={"under": "6401", "level": "county", "after": page["endCursor"]}
    )
    assert following.json()["changes"] == []
    refusals = [
        ({"under": "6402", "level": "county"}, 403, "FORBIDDEN"),
        ({"under": "6401", "level": "nation"}, 400, "BAD_USER_INPUT"),
        ({"under": "6401"}, 400, "BAD_USER_INPUT"),
        ({"under": "6401", "level": "county", "after": "nonsense"}, 400, "BAD_USER_INPUT"),
        ({"under": "6401", "level": "county", "first": "many"}, 400, "BAD_USER_INPUT"),
        ({"under": "6401", "level": "county", "first": "²"}, 400, "BAD_USER_INPUT"),
        ({"under": "6401", "level": "county", "secret": "1"}, 400, "BAD_USER_INPUT"),
        ({"under": "99", "level": "county"}, 404, "NOT_FOUND"),
    ]
    for params, status, code in refusals:
        refused = reader.get("/export/changes", params=params)
        assert refused.status_code == status, (params, refused.text)
        assert refused.json()["errors"][0]["extensions"]["code"] == code
    with client_for(url) as anonymous:
        refused = anonymous.get("/export/changes", params={"under": "6401", "level": "county"})
        assert refused.status_code == 401


def _socket_init(ws: Any, token: str) -> None:
    ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert ws.receive_json() == {"type": "connection_ack"}


def test_a_socket_runs_subscriptions_only_and_http_none(
    yinchuan: tuple[str, TestClient, TestClient],
) -> None:
    url, admin, _ = yinchuan
    token = issue_token(url, "socket-writer", "admin", "64")
    mutation = {"query": SUBMIT, "variables": {"rows": [births(VILLAGE, "2024-05", 4)]}}
    with (
        client_for(url) as anonymous,
        anonymous.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        _socket_init(ws, token)
        for number, payload in enumerate([mutation, {"query": "{ feedHead }"}]):
            ws.send_json({"id": str(number), "type": "subscribe", "payload": payload})
            answer = ws.receive_json()
            assert "payload" in answer, answer
            errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "BAD_REQUEST", answer
        # The socket holds no transaction: a writer goes on at once.
        assert data_of(admin, SUBMIT, rows=[births(VILLAGE, "2024-06", 1)])["submitValues"]["ok"]
    assert follow(admin, under="640104", level="COUNTY", elements=["births"])[0] == {
        (XINGQING, "2024-06", "element", "births"): 1.0
    }
    body = graphql(admin, LIVE, under="6401")
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_a_subscription_stops_when_its_grant_is_taken_back(
    yinchuan: tuple[str, TestClient, TestClient],
) -> None:
    url, admin, _ = yinchuan
    token = issue_token(url, "leaving", "aggregate_reader", "6401")
    with (
        client_for(url) as anonymous,
        anonymous.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        _socket_init(ws, token)
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": LIVE, "variables": {"under": "6401"}},
            }
        )
        assert data_of(admin, SUBMIT, rows=[births(VILLAGE, "2024-03", 2)])["submitValues"]["ok"]
        assert ws.receive_json()["type"] == "next"
        taken = quhua(
            "revoke",
            "--subject",
            "leaving",
            "--role",
            "aggregate_reader",
            "--jurisdiction",
            "6401",
            url=url,
        )
        assert taken.exit_code == 0, taken.stderr
        assert data_of(admin, SUBMIT, rows=[births(VILLAGE, "2024-03", 3)])["submitValues"]["ok"]
        answer = ws.receive_json()
        errors = answer["payload"] if answer["type"] == "error" else answer["payload"].get("errors")
        assert errors, answer
        assert errors[0]["extensions"]["code"] in {"FORBIDDEN", "UNAUTHENTICATED"}, answer


def _subscribed(ws: Any, number: str, after: str) -> dict[str, Any]:
    """Subscribe from the cursor and the first message for it: a page, or a refusal."""
    variables = {"under": "6401", "after": after}
    ws.send_json(
        {"id": number, "type": "subscribe", "payload": {"query": LIVE, "variables": variables}}
    )
    answer: dict[str, Any] = ws.receive_json()
    assert answer["id"] == number, answer
    if answer["type"] == "next" and answer["payload"].get("errors"):
        # A refusal in a result ends that subscription: its complete follows.
        assert ws.receive_json() == {"id": number, "type": "complete"}
    return answer


def _code_of(answer: dict[str, Any]) -> str | None:
    errors = answer["payload"] if answer["type"] == "error" else answer["payload"].get("errors")
    return str(errors[0]["extensions"]["code"]) if errors else None


def test_a_caller_runs_a_bounded_number_of_subscriptions(
    yinchuan: tuple[str, TestClient, TestClient],
) -> None:
    url, admin, _ = yinchuan
    token = issue_token(url, "many-sockets", "aggregate_reader", "6401")
    other = issue_token(url, "another-reader", "aggregate_reader", "6401")
    # Each subscription from before this commit gets a page at once: it is running.
    head = data_of(admin, "{ feedHead }")["feedHead"]
    assert data_of(admin, SUBMIT, rows=[births(VILLAGE, "2024-07", 2)])["submitValues"]["ok"]
    socket = ["/graphql"]
    protocol = ["graphql-transport-ws"]
    with (
        client_for(url, subscriptions_per_caller=2) as anonymous,
        anonymous.websocket_connect(*socket, subprotocols=protocol) as first,
        anonymous.websocket_connect(*socket, subprotocols=protocol) as second,
        anonymous.websocket_connect(*socket, subprotocols=protocol) as others,
        anonymous.websocket_connect(*socket, subprotocols=protocol) as nobody,
    ):
        for ws, who in ((first, token), (second, token), (others, other)):
            _socket_init(ws, who)
        # A socket without a caller is refused at once, holding no slot and no session.
        nobody.send_json({"type": "connection_init"})
        assert nobody.receive_json() == {"type": "connection_ack"}
        assert _code_of(_subscribed(nobody, "1", head)) == "UNAUTHENTICATED"
        assert _subscribed(first, "1", head)["type"] == "next"
        assert _subscribed(first, "2", head)["type"] == "next"
        # The limit holds over all the caller's sockets, and for no other caller.
        refused = _subscribed(second, "3", head)
        assert _code_of(refused) == "RATE_LIMITED", refused
        assert "At most 2 subscriptions" in str(refused["payload"])
        assert _subscribed(others, "1", head)["type"] == "next"
        # Completing one frees its slot (the server ends it as the message arrives).
        first.send_json({"id": "1", "type": "complete"})
        for attempt in itertools.count(4):
            answer = _subscribed(second, str(attempt), head)
            if answer["type"] == "next":
                break
            assert _code_of(answer) == "RATE_LIMITED" and attempt < 50, answer
            time.sleep(0.1)


def test_a_renamed_unit_resets_the_feed(ningxia: tuple[str, TestClient], tmp_path: Path) -> None:
    url, admin = ningxia
    cursor = data_of(admin, "{ feedHead }")["feedHead"]
    tree = tmp_path / "renamed.csv"
    tree.write_text("code,name,level,parent_code\n640104,兴庆新区,county,6401\n", encoding="utf-8")
    loaded = quhua("divisions", "load", str(tree), url=url)
    assert loaded.exit_code == 0, loaded.stdout + loaded.stderr
    page = data_of(admin, CHANGES, under="64", level="COUNTY", after=cursor, elements=["births"])
    assert [r["reason"] for r in page["changes"]["resets"]] == ["the division tree changed"]


def test_pages_bounded_by_change_sets_and_changes_miss_nothing(
    yinchuan: tuple[str, TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page reads at most SPAN change sets and WINDOW changes; with both tiny, following
    still ends with every aggregate, through empty pages of other subtrees' change sets."""
    url, admin, reader = yinchuan
    monkeypatch.setattr(feed_changes, "SPAN", 2)
    monkeypatch.setattr(feed_changes, "WINDOW", 3)
    for month in MONTHS:
        rows = [
            births(unit, month, 1 + len(month), sex)
            for unit in VILLAGES
            for sex in ("male", "female")
        ]
        assert data_of(admin, SUBMIT, rows=rows)["submitValues"]["ok"]
        # Change sets of another city only: pages of nothing for the follower of 6401.
        for value in range(3):
            assert data_of(admin, SUBMIT, rows=[births("640202001001", month, value)])[
                "submitValues"
            ]["ok"]
    held, _ = follow(reader, under="6401", level="COUNTY", elements=["births"], first=1)
    assert present(held) == brute_force(url)
