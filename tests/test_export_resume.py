"""Streams cut mid-row resume from the last complete row's cursor: no duplicates, no gaps.
The first bytes leave while pages remain to be read; a failure after them ends the body
with an error record and without the end marker."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, event, text
from starlette.testclient import TestClient

from core.db.engine import sync_engine
from quhua.app import create_app
from quhua.exports import aggregates, values
from quhua.settings import Settings
from quhua.synthetic import generate, write_csv
from tests.cli import quhua
from tests.conftest import client_for
from tests.export_world import VILLAGES, export, export_world
from tests.processes import quhua_server
from tests.test_export_formats import adx_rows

AGGREGATES = {
    "path": "/export/aggregates",
    "under": "64",
    "level": "village",
    "from": "2019-01",
    "to": "2019-12",
    "indicators": "birth_rate",
    "elements": "births,deaths",
    "disaggregate": "true",
}
VALUES = {"path": "/export/values", "under": "64", "from": "1990", "to": "2019"}
# The tiny world's own values, to resume a plain CSV from every row of it.
VALUES_2024 = {"path": "/export/values", "under": "64", "from": "2024", "to": "2024"}
ADX_ROW = re.compile(
    rb'<group orgUnit="([^"]*)" period="([^"]*)"|<dataValue ([^>]*)/>\n<\?cursor ([^?]*)\?>'
)
ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The tiny world, with 30 years of synthetic reports before 2024 (about 19,000 values
    under 64: several pages), served by `quhua serve` in a process of its own."""
    folder = tmp_path_factory.mktemp("resume")
    with export_world(str(request.param), folder) as found:
        history = folder / "history.csv"
        write_csv(generate(list(VILLAGES), first_year=1990, years=30, seed=7), history)
        imported = quhua("values", "import", str(history), url=found["url"])
        assert imported.exit_code == 0, imported.stdout + imported.stderr
        with quhua_server(
            "serve", folder=folder, env={"QUHUA_DATABASE_URL": found["url"]}
        ) as server:
            yield {**found, "base": server.base}
            # Connections cut mid-stream end the request quietly: rolled back, no error.
            assert "Traceback" not in server.output(), server.output()[-3000:]


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page a unit (aggregates) or two values (values): many pages for a tiny tree."""
    monkeypatch.setattr(aggregates, "UNITS_PER_PAGE", 1)
    monkeypatch.setattr(values, "VALUES_PER_PAGE", 2)
    monkeypatch.setattr(values, "LINES_PER_PAGE", 2)
    monkeypatch.setattr(values, "FIRST_UNITS", 1)
    monkeypatch.setattr(values, "MAX_UNITS", 1)


class Remote:
    """The served app as a client sees it over a socket."""

    def __init__(self, world: dict[str, str]) -> None:
        self.base = world["base"]
        self.headers = {
            "Authorization": f"Bearer {world['admin']}",
            "Accept-Encoding": "identity",
        }

    def get(self, asked: dict[str, str], **more: str) -> httpx.Response:
        params = {**{k: v for k, v in asked.items() if k != "path"}, **more}
        return httpx.get(self.base + asked["path"], params=params, headers=self.headers, timeout=60)

    def cut(self, asked: dict[str, str], size: int, **more: str) -> bytes:
        """The first `size` bytes of the stream; the connection is closed there."""
        params = {**{k: v for k, v in asked.items() if k != "path"}, **more}
        received = b""
        with httpx.stream(
            "GET", self.base + asked["path"], params=params, headers=self.headers, timeout=60
        ) as response:
            for chunk in response.iter_raw():
                received += chunk
                if len(received) >= size:
                    break
        return received[:size]


def _get(client: TestClient | Remote, asked: dict[str, str], **more: str) -> bytes:
    if isinstance(client, Remote):
        response = client.get(asked, **more)
    else:
        params = {k: v for k, v in asked.items() if k != "path"}
        response = export(client, asked["path"], **params, **more)
    assert response.status_code == 200, response.text
    return response.content


def _complete_lines(prefix: bytes) -> tuple[bytes, list[bytes]]:
    """The prefix up to its last complete line, and those lines."""
    end = prefix.rfind(b"\n") + 1
    return prefix[:end], prefix[:end].split(b"\n")[:-1]


def _resume_csv(client: Remote, asked: dict[str, str], prefix: bytes) -> bytes:
    kept, lines = _complete_lines(prefix)
    if lines and lines[-1] == b"# end":
        return kept
    more: dict[str, str] = {"cursors": "true"}
    if len(lines) > 1:
        more["after"] = lines[-1].decode().rsplit(",", 1)[1]
    resumed = _get(client, asked, **more)
    header, _, rest = resumed.partition(b"\n")
    assert kept.startswith(header + b"\n")
    return kept + rest if len(lines) > 0 else resumed


def _resume_ndjson(client: Remote, asked: dict[str, str], prefix: bytes) -> bytes:
    kept, lines = _complete_lines(prefix)
    if lines and lines[-1] == b'{"end":true}':
        return kept
    more: dict[str, str] = {"format": "ndjson"}
    if lines:
        more["after"] = json.loads(lines[-1])["cursor"]
    return kept + _get(client, asked, **more)


def _dvs_rows(document: bytes) -> list[dict[str, Any]]:
    rows = []
    for line in document.split(b"\n")[1:]:
        try:
            rows.append(json.loads(line.rstrip(b",")))
        except json.JSONDecodeError:
            break  # the cut one, or the closing `]}`
    for row in rows:
        row.pop("lastUpdated")  # an aggregate's is the export's time
    return rows


def _adx_rows(prefix: bytes) -> tuple[list[tuple[Any, ...]], str | None]:
    """The rows whose cursor arrived whole, and the last cursor."""
    rows: list[tuple[Any, ...]] = []
    group: tuple[str, str] | None = None
    cursor = None
    for match in ADX_ROW.finditer(prefix):
        if match.group(1) is not None:
            group = (match.group(1).decode(), match.group(2).decode())
            continue
        assert group is not None
        attributes = dict(ATTRIBUTE.findall(match.group(3).decode()))
        element, value = attributes.pop("dataElement"), attributes.pop("value")
        rows.append((*group, element, value, attributes))
        cursor = match.group(4).decode()
    return rows, cursor


@pytest.mark.parametrize("asked", [AGGREGATES, VALUES], ids=["aggregates", "values"])
def test_a_cut_stream_resumes_without_duplicates_or_gaps(
    world: dict[str, str], asked: dict[str, str]
) -> None:
    """Over a socket, the client closes the connection after N bytes (mid-row) and asks
    again after the last row it holds whole."""
    client = Remote(world)
    csv_whole = _get(client, asked, cursors="true")
    ndjson_whole = _get(client, asked, format="ndjson")
    dvs_whole = _get(client, asked, format="dvs", cursors="true")
    adx_whole = _get(client, asked, format="adx", cursors="true")
    assert csv_whole.count(b"\n") > 150
    for share in (0.05, 0.3, 0.5, 0.77, 0.999):
        # Mid-row wherever it falls (a row is never a whole number of these bytes).
        size = int(len(csv_whole) * share) + 7
        prefix = client.cut(asked, size, cursors="true")
        assert _resume_csv(client, asked, prefix) == csv_whole, share
        size = int(len(ndjson_whole) * share) + 7
        prefix = client.cut(asked, size, format="ndjson")
        assert _resume_ndjson(client, asked, prefix) == ndjson_whole, share
        prefix = client.cut(asked, int(len(dvs_whole) * share) + 7, format="dvs", cursors="true")
        before = _dvs_rows(prefix)
        more = {"after": before[-1]["cursor"]} if before else {}
        after = _dvs_rows(_get(client, asked, format="dvs", cursors="true", **more))
        assert before + after == _dvs_rows(dvs_whole), share
        prefix = client.cut(asked, int(len(adx_whole) * share) + 7, format="adx", cursors="true")
        rows, cursor = _adx_rows(prefix)
        if rows == adx_rows(adx_whole):
            # Nothing follows the last row: ADX has no empty document to say so.
            assert client.get(asked, format="adx", after=cursor or "").status_code == 404
            continue
        more = {"after": cursor} if cursor else {}
        rest = _get(client, asked, format="adx", cursors="true", **more)
        assert rows + adx_rows(rest) == adx_rows(adx_whole), share


@pytest.mark.usefixtures("small_pages")
def test_plain_csv_resumes_from_any_rows_cursor(world: dict[str, str]) -> None:
    """Plain CSV lines are written by the database: a cursor taken from NDJSON resumes
    them exactly after its row, inside a unit or between units."""
    with client_for(world["url"], world["admin"]) as client:
        plain = _get(client, VALUES_2024).split(b"\n")
        lines = _get(client, VALUES_2024, format="ndjson").split(b"\n")[:-2]
        rows = [json.loads(line) for line in lines]
        assert len(rows) == len(plain) - 2 == 8
        for number, row in enumerate(rows):
            resumed = _get(client, VALUES_2024, after=row["cursor"]).split(b"\n")
            assert resumed == [plain[0], *plain[number + 2 :]], number


@pytest.mark.usefixtures("small_pages")
# One year of values: with two values a page, a few hundred pages are enough to tell.
@pytest.mark.parametrize(
    "asked", [AGGREGATES, {**VALUES, "from": "2019"}], ids=["aggregates", "values"]
)
def test_the_first_bytes_leave_while_pages_remain(
    world: dict[str, str], asked: dict[str, str]
) -> None:
    """Structure, not time: when the first chunk arrives, fewer page statements have run
    than the whole export runs."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        # Statements that read figures: of stored values, or of the store of aggregates.
        statement = args[2]
        if "SELECT" in statement and ("data_values" in statement or "rollup" in statement):
            statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        with client_for(world["url"], world["admin"]) as client:
            params = {k: v for k, v in asked.items() if k != "path"}
            with client.stream(
                "GET", asked["path"], params=params, headers={"Accept-Encoding": "identity"}
            ) as response:
                chunks = response.iter_raw()
                first = next(chunks)
                at_first = len(statements)
                rest = b"".join(chunks)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert first and rest
    assert 0 < at_first < len(statements)


def test_a_failure_after_the_first_bytes_ends_with_an_error_record(
    world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away mid-export (its sessions are ended from outside): the body
    ends with the format's error record, and without its end marker."""
    if not world["url"].startswith("postgresql"):
        pytest.skip("ending another session's connection is a PostgreSQL operation")
    monkeypatch.setattr(values, "VALUES_PER_PAGE", 2)
    engine = sync_engine(world["url"])
    endings = {
        "ndjson": (b'{"error":{"code":"INTERNAL"', b'{"end":true}\n'),
        "csv": (b"# error: INTERNAL: ", b"# end\n"),
        "dvs": (b'\n{"error":{"code":"INTERNAL"', b"]}\n"),
        "adx": (b"<!-- error: INTERNAL: ", b"</adx>\n"),
    }
    try:
        for name, (record, end) in endings.items():
            settings = Settings(database_url=world["url"])
            headers = {"Authorization": f"Bearer {world['admin']}", "Accept-Encoding": "identity"}
            with TestClient(create_app(settings), headers=headers) as client:
                params = {k: v for k, v in VALUES.items() if k != "path"}
                with client.stream(
                    "GET", VALUES["path"], params={**params, "format": name, "cursors": "true"}
                ) as response:
                    chunks = response.iter_raw()
                    body = next(chunks)
                    with engine.connect() as connection:
                        connection.execute(
                            text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                            )
                        )
                    body += b"".join(chunks)
            assert record in body, (name, body[-300:])
            assert not body.endswith(end), name
    finally:
        engine.dispose()
