"""Export → import into an empty database → export again: the same values, in every format
that imports (the same bytes for CSV)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from tests.cli import quhua
from tests.databases import fresh_database, load_catalogue, load_tree, upgrade
from tests.test_value_import import GOOD

SUFFIXES = {"csv": "csv", "dvs": "json", "adx": "xml"}
# What says when and by whom, not what: it differs between the two databases.
STAMPS = ("lastUpdated", "storedBy")


def prepared(url: str) -> None:
    upgrade(url)
    load_tree(url)
    load_catalogue(url)


def exported(url: str, value_format: str, out: Path) -> Path:
    result = quhua(
        "export",
        "values",
        "--under",
        "64",
        "--from",
        "2024-01",
        "--to",
        "2024-12",
        "--format",
        value_format,
        "--out",
        str(out),
        url=url,
    )
    assert result.exit_code == 0, result.stderr
    return out


def imported(url: str, path: Path) -> None:
    result = quhua("values", "import", str(path), "--json", url=url)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["inserted"] == 6


def what_it_says(value_format: str, path: Path) -> object:
    if value_format == "csv":
        return path.read_bytes()
    if value_format == "dvs":
        values = json.loads(path.read_text(encoding="utf-8"))["dataValues"]
        return [{k: v for k, v in value.items() if k not in STAMPS} for value in values]
    root = etree.parse(str(path)).getroot()
    del root.attrib["exported"]
    return etree.tostring(root, method="c14n")


@pytest.mark.parametrize("value_format", ["csv", "dvs", "adx"])
def test_an_export_imports_into_an_empty_database_unchanged(
    catalogue_url: str, backend: str, tmp_path: Path, value_format: str
) -> None:
    source = tmp_path / "source.csv"
    source.write_text(GOOD, encoding="utf-8")
    imported(catalogue_url, source)
    suffix = SUFFIXES[value_format]
    first = exported(catalogue_url, value_format, tmp_path / f"first.{suffix}")
    (tmp_path / "empty").mkdir()
    with fresh_database(backend, tmp_path / "empty") as other:
        prepared(other)
        imported(other, first)
        second = exported(other, value_format, tmp_path / f"second.{suffix}")
    assert what_it_says(value_format, second) == what_it_says(value_format, first)
