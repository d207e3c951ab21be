"""`POST /import/values`: the file import over HTTP, for the caller's scope only."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from authz.models import Token
from core.db.engine import sync_engine
from indicators.models import ChangeSet
from quhua.app import create_app
from quhua.settings import Settings
from tests.databases import issue_token
from tests.test_value_formats import REFERENCE_ADX, REFERENCE_JSON, audit_counts
from tests.test_value_import import GOOD

TOWNSHIP = "640104001"
VILLAGE = "640104001002"


@contextmanager
def client_of(url: str, token: str | None, **settings: Any) -> Iterator[TestClient]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with TestClient(create_app(Settings(database_url=url, **settings)), headers=headers) as client:
        yield client


@pytest.fixture
def url(catalogue_url: str) -> str:
    return catalogue_url


BODIES = [
    ("text/csv", GOOD.encode()),
    ("application/json", REFERENCE_JSON.read_bytes()),
    ("application/adx+xml", REFERENCE_ADX.read_bytes()),
    ("application/xml", REFERENCE_ADX.read_bytes()),
]


@pytest.mark.parametrize(("media_type", "body"), BODIES, ids=[m for m, _ in BODIES])
def test_a_reporter_imports_a_file_of_their_township(
    url: str, media_type: str, body: bytes
) -> None:
    token = issue_token(url, "township-reporter", "reporter", TOWNSHIP)
    with client_of(url, token) as client:
        answer = client.post(
            "/import/values",
            params={"reason": "March report"},
            content=body,
            headers={"Content-Type": media_type},
        )
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert (report["ok"], report["written"]) == (True, True)
        assert (report["inserted"], report["updated"], report["unchanged"]) == (6, 0, 0)
        again = client.post(
            "/import/values",
            params={"reason": "March report again"},
            content=body,
            headers={"Content-Type": media_type},
        )
        assert again.json()["unchanged"] == 6
    assert audit_counts(url) == (6, 6, 1)
    engine = sync_engine(url)
    with engine.connect() as connection:
        change_set = connection.execute(
            select(
                ChangeSet.actor,
                ChangeSet.actor_subject_id,
                ChangeSet.token_id,
                ChangeSet.reason,
                ChangeSet.source,
                ChangeSet.seq,
            )
        ).one()
        token_subject = connection.execute(select(Token.subject_id)).scalar_one()
    engine.dispose()
    assert change_set.actor == "township-reporter"
    assert change_set.actor_subject_id == token_subject
    assert change_set.token_id is not None
    assert change_set.reason == "March report"
    assert change_set.source.startswith("import upload.")
    # In the feed, as every committed write of values is.
    assert change_set.seq is not None


def test_rows_of_units_outside_the_scope_refuse_the_whole_file(url: str) -> None:
    token = issue_token(url, "village-reporter", "reporter", VILLAGE)
    with client_of(url, token) as client:
        answer = client.post(
            "/import/values",
            params={"reason": "March"},
            content=GOOD.encode(),
            headers={"Content-Type": "text/csv"},
        )
    assert answer.status_code == 422, answer.text
    report = answer.json()
    assert not report["written"]
    assert report["errors"] == [
        {"line": 6, "reason": "jurisdiction 640104001003 is outside what you may report for"},
        {"line": 7, "reason": "jurisdiction 640104001 is outside what you may report for"},
    ]
    assert audit_counts(url) == (0, 0, 0)


def test_a_token_that_may_not_report_is_refused(url: str) -> None:
    viewer = issue_token(url, "viewer", "viewer", "64")
    with client_of(url, viewer) as client:
        answer = client.post(
            "/import/values",
            params={"reason": "March"},
            content=GOOD.encode(),
            headers={"Content-Type": "text/csv"},
        )
    assert answer.status_code == 403, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    with client_of(url, None) as anonymous:
        answer = anonymous.post(
            "/import/values", content=GOOD.encode(), headers={"Content-Type": "text/csv"}
        )
    assert answer.status_code == 401
    assert audit_counts(url) == (0, 0, 0)


def test_a_dry_run_checks_and_writes_nothing(url: str) -> None:
    token = issue_token(url, "township-reporter", "reporter", TOWNSHIP)
    with client_of(url, token) as client:
        answer = client.post(
            "/import/values",
            params={"reason": "March", "dry_run": "true"},
            content=gzip.compress(REFERENCE_JSON.read_bytes()),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["ok"], report["written"], report["inserted"]) == (True, False, 6)
    assert audit_counts(url) == (0, 0, 0)


def test_a_file_uploaded_in_a_form(url: str, tmp_path: Path) -> None:
    token = issue_token(url, "township-reporter", "reporter", TOWNSHIP)
    with client_of(url, token) as client:
        answer = client.post(
            "/import/values",
            data={"reason": "March, from the province's DHIS2"},
            files={"file": ("../march 2024.json", REFERENCE_JSON.read_bytes(), "text/plain")},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["file"] == "march 2024.json"
        bad = client.post(
            "/import/values",
            data={"reason": "March"},
            files={"file": ("bad.json", b'{"dataValues": [{"value": "1"}]}', "application/json")},
        )
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"dataValue": 0, "reason": "no orgUnit (nor a top-level one before dataValues)"}
    ]
    engine = sync_engine(url)
    with engine.connect() as connection:
        source = connection.execute(select(ChangeSet.source)).scalar_one()
    engine.dispose()
    assert source == "import march 2024.json"


REFUSED = [
    ({}, {"Content-Type": "text/csv"}, GOOD.encode(), 400, "reason: say why"),
    ({"reason": "x"}, {"Content-Type": "image/png"}, b"\x89PNG", 400, "Content-Type image/png"),
    ({"reason": "x", "dry_run": "maybe"}, {"Content-Type": "text/csv"}, b"", 400, "dry_run"),
    ({"reason": "x", "format": "xls"}, {"Content-Type": "text/csv"}, b"", 400, "format 'xls'"),
    (
        {"reason": "x"},
        {"Content-Type": "application/json"},
        b'{"dataValues": [',
        422,
        "line 1 column 17: Expecting value",
    ),
    (
        {"reason": "x"},
        {"Content-Type": "text/csv"},
        (GOOD + GOOD.splitlines()[1] + "\n").encode(),
        422,
        '{"line":8,"reason":"the same value as line 2"}',
    ),
    (
        {"reason": "x"},
        {"Content-Type": "application/xml"},
        b'<!DOCTYPE adx [<!ENTITY a "a">]><adx/>',
        422,
        "declares a document type",
    ),
]


@pytest.mark.parametrize(
    ("params", "headers", "body", "status", "message"),
    REFUSED,
    ids=[r[-1] for r in REFUSED],
)
def test_a_request_that_cannot_be_imported_says_why(
    url: str,
    params: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    status: int,
    message: str,
) -> None:
    token = issue_token(url, "township-reporter", "reporter", TOWNSHIP)
    with client_of(url, token) as client:
        answer = client.post("/import/values", params=params, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert message in answer.text
    assert audit_counts(url) == (0, 0, 0)


def test_a_body_over_the_limit_is_refused(url: str) -> None:
    token = issue_token(url, "township-reporter", "reporter", TOWNSHIP)
    rows = "".join(f"{VILLAGE},deaths,2024-{m:02d},1,\n" for m in range(1, 13)) * 200
    body = ("jurisdiction,element,period,value,disaggregation\n" + rows).encode()
    with client_of(url, token, max_body_bytes=10_000) as client:

        def chunks() -> Iterator[bytes]:
            # Without a length up front: the limit counts the bytes as they come.
            for start in range(0, len(body), 4096):
                yield body[start : start + 4096]

        answer = client.post(
            "/import/values",
            params={"reason": "x"},
            content=chunks(),
            headers={"Content-Type": "text/csv"},
        )
    assert answer.status_code == 413
    assert audit_counts(url) == (0, 0, 0)
