"""Values exports: the lines the database writes equal the formatter's, and every format
imports into an empty database whose CSV export is then the same bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from quhua.synthetic import generate, write_csv
from tests.cli import quhua
from tests.conftest import client_for
from tests.databases import fresh_database, load_catalogue, upgrade
from tests.export_world import TREE, VILLAGES, export, export_world

# Numbers of every kind the store keeps: decimals, large amounts, whole counts; elements
# reported by month, quarter and year.
MORE = (
    "jurisdiction,element,period,value,disaggregation\n"
    "640104001001,fees_assessed,2024-05,0.07,\n"
    "640104001001,fees_assessed,2024-06,99999999999.99,\n"
    "640104001001,fees_assessed,2024-07,10.1,\n"
    "640104,census_population,2020,123456,sex=male\n"
    "640104,census_population,2020,120001,sex=female\n"
    "640104001,funding,2024-Q2,0.5,\n"
)
EVERYTHING = {"under": "64", "from": "2018", "to": "2024"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("values")
    with export_world(str(request.param), folder) as found:
        more = folder / "more.csv"
        more.write_text(MORE, encoding="utf-8")
        history = folder / "history.csv"
        write_csv(generate(list(VILLAGES), first_year=2018, years=2, seed=11), history)
        for path in (more, history):
            imported = quhua("values", "import", str(path), url=found["url"])
            assert imported.exit_code == 0, imported.stdout + imported.stderr
        yield {**found, "backend": str(request.param), "folder": str(folder)}


def _get(world: dict[str, str], **params: str) -> bytes:
    with client_for(world["url"], world["admin"]) as client:
        response = export(client, "/export/values", **params)
    assert response.status_code == 200, response.text
    return response.content


def test_the_databases_lines_are_the_formatters(world: dict[str, str]) -> None:
    """Plain CSV is written by the database; with cursors, by Python: the same rows."""
    plain = _get(world, **EVERYTHING)
    formatted = _get(world, **EVERYTHING, cursors="true").decode().split("\n")
    assert formatted[-2:] == ["# end", ""]
    header, *rows = formatted[:-2]
    assert header == "jurisdiction,element,period,value,disaggregation,cursor"
    without = [row.rsplit(",", 1)[0] for row in rows]
    expected = "\n".join(["jurisdiction,element,period,value,disaggregation", *without]) + "\n"
    assert plain.decode() == expected
    assert len(rows) > 1000
    for line in (
        "640104001001,fees_assessed,2024-05,0.07,",
        "640104001001,fees_assessed,2024-06,99999999999.99,",
        "640104001001,fees_assessed,2024-07,10.1,",
        "640104,census_population,2020,123456,sex=male",
        "640104001,funding,2024-Q2,0.5,",
    ):
        assert line in without


def test_only_the_elements_asked(world: dict[str, str]) -> None:
    lines = _get(world, **EVERYTHING, elements="deaths,funding").decode().split("\n")[1:-1]
    assert lines
    assert {line.split(",")[1] for line in lines} == {"deaths", "funding"}
    listed = _get(world, **EVERYTHING, elements="deaths,funding", format="ndjson")
    assert listed.count(b"\n") == len(lines) + 1


@pytest.mark.parametrize("name", ["csv", "dvs", "adx"])
def test_an_export_imports_into_an_empty_database_unchanged(
    world: dict[str, str], name: str, tmp_path: Path
) -> None:
    """Export, import into an empty database with the same tree and catalogue, export the
    CSV again: the same bytes."""
    original = _get(world, **EVERYTHING)
    exported = _get(world, **EVERYTHING, format=name)
    suffix = {"csv": "csv", "dvs": "json", "adx": "xml"}[name]
    path = tmp_path / f"exported.{suffix}"
    path.write_bytes(exported)
    with fresh_database(world["backend"], tmp_path) as url:
        upgrade(url)
        tree = tmp_path / "tree.csv"
        tree.write_text(TREE, encoding="utf-8")
        loaded = quhua("divisions", "load", str(tree), "--valid-from", "2023-06-30", url=url)
        assert loaded.exit_code == 0, loaded.stdout
        load_catalogue(url)
        imported = quhua("values", "import", str(path), url=url)
        assert imported.exit_code == 0, imported.stdout + imported.stderr
        copy = tmp_path / "copy.csv"
        written = quhua(
            "export",
            "values",
            "--under",
            "64",
            "--from",
            "2018",
            "--to",
            "2024",
            "--out",
            str(copy),
            url=url,
        )
        assert written.exit_code == 0, written.stdout + written.stderr
        assert copy.read_bytes() == original


def test_raw_values_need_values_read(world: dict[str, str]) -> None:
    with client_for(world["url"], world["reader"]) as client:
        refused = export(client, "/export/values", **EVERYTHING)
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # The same caller's aggregates are theirs.
        granted = export(
            client,
            "/export/aggregates",
            under="64",
            level="county",
            **{"from": "2024", "to": "2024"},
            elements="births",
        )
        assert granted.status_code == 200, granted.text
