"""`quhua export`: the HTTP export's bytes in a file, written whole or not at all."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import quhua
from tests.conftest import client_for
from tests.export_world import export, export_world

YEAR = ["--from", "2024", "--to", "2024"]
AGGREGATES = [
    "--under",
    "64",
    "--level",
    "township",
    "--from",
    "2024-01",
    "--to",
    "2024-06",
    "--indicators",
    "birth_rate",
    "--elements",
    "births,funding",
    "--disaggregate",
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    with export_world(str(request.param), tmp_path_factory.mktemp("cli")) as found:
        yield found


def _http(world: dict[str, str], path: str, **params: str) -> bytes:
    with client_for(world["url"], world["admin"]) as client:
        response = export(client, path, **params)
    assert response.status_code == 200, response.text
    return response.content


def test_values_file_is_the_http_export(world: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "values.csv"
    done = quhua("export", "values", "--under", "64", *YEAR, "--out", str(out), url=world["url"])
    assert done.exit_code == 0, done.stderr
    assert out.read_bytes() == _http(
        world, "/export/values", under="64", **{"from": "2024", "to": "2024"}
    )
    assert done.stdout.startswith(f"wrote 8 rows to {out}")
    assert not (tmp_path / "values.csv.partial").exists()


def test_aggregates_file_is_the_http_export(world: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "aggregates.csv"
    done = quhua("export", "aggregates", *AGGREGATES, "--out", str(out), url=world["url"])
    assert done.exit_code == 0, done.stderr
    expected = _http(
        world,
        "/export/aggregates",
        under="64",
        level="township",
        **{"from": "2024-01", "to": "2024-06"},
        indicators="birth_rate",
        elements="births,funding",
        disaggregate="true",
    )
    assert out.read_bytes() == expected
    excel = tmp_path / "excel.csv"
    done = quhua(
        "export", "aggregates", *AGGREGATES, "--excel", "--out", str(excel), url=world["url"]
    )
    assert done.exit_code == 0, done.stderr
    assert excel.read_bytes() == b"\xef\xbb\xbf" + expected


def test_a_gz_file_is_compressed(world: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "values.ndjson.gz"
    done = quhua(
        "export",
        "values",
        "--under",
        "64",
        *YEAR,
        "--format",
        "ndjson",
        "--out",
        str(out),
        url=world["url"],
    )
    assert done.exit_code == 0, done.stderr
    expected = _http(
        world, "/export/values", under="64", **{"from": "2024", "to": "2024"}, format="ndjson"
    )
    assert gzip.decompress(out.read_bytes()) == expected


def test_after_a_cursor_the_file_holds_the_rest(world: dict[str, str], tmp_path: Path) -> None:
    whole = _http(
        world, "/export/values", under="64", **{"from": "2024", "to": "2024"}, format="ndjson"
    ).split(b"\n")
    cursor = json.loads(whole[2])["cursor"]
    out = tmp_path / "rest.csv"
    done = quhua(
        "export",
        "values",
        "--under",
        "64",
        *YEAR,
        "--after",
        cursor,
        "--out",
        str(out),
        url=world["url"],
    )
    assert done.exit_code == 0, done.stderr
    plain = _http(world, "/export/values", under="64", **{"from": "2024", "to": "2024"}).split(
        b"\n"
    )
    assert out.read_bytes().split(b"\n") == [plain[0], *plain[4:]]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["values", "--under", "64", "--from", "2024-13", "--to", "2024"], "from: '2024-13'"),
        (["values", "--under", "99", *YEAR], "under: no jurisdiction has code '99'"),
        (["values", "--under", "64", *YEAR, "--format", "xls"], "format: 'xls'"),
        (["aggregates", *AGGREGATES[:4], *YEAR], "ask for at least one column"),
        (["aggregates", "--under", "64", "--level", "planet", *YEAR], "level: 'planet'"),
        (["values", "--under", "64", *YEAR, "--after", "nonsense"], "after: 'nonsense'"),
    ],
)
def test_a_refused_export_writes_nothing(
    world: dict[str, str], tmp_path: Path, arguments: list[str], message: str
) -> None:
    out = tmp_path / "out.csv"
    out.write_text("what was there\n", encoding="utf-8")
    done = quhua("export", *arguments, "--out", str(out), url=world["url"])
    assert done.exit_code == 1
    assert message in done.stderr
    assert out.read_text(encoding="utf-8") == "what was there\n"
    assert not (tmp_path / "out.csv.partial").exists()
