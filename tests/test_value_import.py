"""`quhua values import`: the whole file or nothing, line-numbered errors, audited upserts."""

from __future__ import annotations

import json
import lzma
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db.engine import sync_engine
from indicators.models import DataValue, ValueChange
from tests.cli import quhua
from tests.conftest import client_for, data_of
from tests.databases import issue_token

HEADER = "jurisdiction,element,period,value,disaggregation\n"
GOOD = HEADER + (
    "640104001002,births,2024-03,2,sex=male;parity=1\n"
    "640104001002,births,2024-03,1,sex=female;parity=2\n"
    "640104001002,population,2024-03,3150,sex=male\n"
    "640104001002,population,2024-03,3080,sex=female\n"
    "640104001003,deaths,2024-03,1,\n"
    "640104001,funding,2024-Q1,120000.50,\n"
)


@pytest.fixture
def url(catalogue_url: str) -> str:
    return catalogue_url


def run(url: str, path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = quhua("values", "import", str(path), "--json", *extra, url=url)
    return result.exit_code, json.loads(result.stdout)


def write(tmp_path: Path, text: str, name: str = "values.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def counts(url: str) -> tuple[int, int]:
    engine = sync_engine(url)
    with engine.connect() as connection:
        found = (
            connection.execute(select(func.count()).select_from(DataValue)).scalar_one(),
            connection.execute(select(func.count()).select_from(ValueChange)).scalar_one(),
        )
    engine.dispose()
    return found


def test_import_reimport_and_correct(url: str, tmp_path: Path) -> None:
    code, report = run(url, write(tmp_path, GOOD), "--reason", "March report")
    assert code == 0
    assert (report["inserted"], report["updated"], report["unchanged"]) == (6, 0, 0)
    assert counts(url) == (6, 6)
    code, report = run(url, write(tmp_path, GOOD))
    assert (report["inserted"], report["updated"], report["unchanged"]) == (0, 0, 6)
    assert counts(url) == (6, 6)
    corrected = GOOD.replace("2024-03,3150,sex=male", "2024-03,3151,sex=male")
    code, report = run(url, write(tmp_path, corrected, "fix.csv"))
    assert (report["inserted"], report["updated"], report["unchanged"]) == (0, 1, 5)
    assert counts(url) == (6, 7)
    with client_for(url, issue_token(url, "viewer", "viewer", "640104")) as viewer:
        unit = data_of(
            viewer,
            '{ jurisdiction(code: "640104001002") { values(period: "2024-03", elements: '
            '["population"]) { disaggregation value } auditTrail(first: 1) { edges { node { '
            "oldValue newValue source actor reason } } } } }",
        )["jurisdiction"]
    assert unit["values"] == [
        {"disaggregation": "sex=male", "value": 3151.0},
        {"disaggregation": "sex=female", "value": 3080.0},
    ] or unit["values"] == [
        {"disaggregation": "sex=female", "value": 3080.0},
        {"disaggregation": "sex=male", "value": 3151.0},
    ]
    change = unit["auditTrail"]["edges"][0]["node"]
    assert change["oldValue"] == 3150.0
    assert change["newValue"] == 3151.0
    assert change["source"] == "import fix.csv:4"
    assert change["actor"].startswith("cli:")


def test_compressed_files_import(url: str, tmp_path: Path) -> None:
    path = tmp_path / "values.csv.xz"
    path.write_bytes(lzma.compress(GOOD.encode()))
    assert run(url, path)[1]["inserted"] == 6


BAD = [
    ("659999999999,births,2024-03,1,sex=male;parity=1", "unknown jurisdiction '659999999999'"),
    ("640104001002,birth,2024-03,1,", "unknown element 'birth'"),
    ("640104001002,births,2024-03,1,sex=male", "births needs an option of parity"),
    ("640104001002,births,2024-Q1,1,sex=male;parity=1", "reported by month, not by quarter"),
    ("640104001002,births,2024-03,-2,sex=male;parity=1", "-2 is negative"),
    ("640104001002,births,2024-03,two,sex=male;parity=1", "value 'two' is not a number"),
    ("640104001002,births,2024-03,1.5,sex=male;parity=1", "1.5 is not a whole number"),
    ("640104001002,births,2024-03,nan,sex=male;parity=1", "not a number"),
    ("640104001002,births,2024-03,inf,sex=male;parity=1", "not a number"),
    ("640104001002,births,2024-03,1e16,sex=male;parity=1", "1e+16 is too large"),
    ("640104001002,fees_assessed,2024-03,2.505,", "2.505 has more than two decimals"),
    ("640104001002,births,2024-03,5,sex=male;parity=1", "the same value as line 2"),
    ("640104,births,2024-03,5,sex=male;parity=1", "is a county, which does not report"),
    ("640104001002,births,2024-03,5", "4 fields where the header has 5"),
]


@pytest.mark.parametrize(("line", "reason"), BAD, ids=[r for _, r in BAD])
def test_a_bad_row_is_refused_by_line_and_nothing_is_written(
    url: str, tmp_path: Path, line: str, reason: str
) -> None:
    code, report = run(url, write(tmp_path, GOOD + line + "\n"))
    assert code == 1
    assert not report["written"]
    assert report["errors"][0]["line"] == 8
    assert reason in report["errors"][0]["reason"]
    assert counts(url) == (0, 0)


def test_a_file_without_the_columns_is_refused(url: str, tmp_path: Path) -> None:
    result = quhua("values", "import", str(write(tmp_path, "code,value\n1,2\n")), url=url)
    assert result.exit_code == 1
    assert "the header lacks jurisdiction, element, period, disaggregation" in result.stderr


def test_large_amounts_are_stored_and_audited_to_the_cent(url: str, tmp_path: Path) -> None:
    # Sixteen significant digits: more than a double carries through PostgreSQL's
    # float8-to-numeric conversion (fifteen), fewer than the column holds.
    first = HEADER + "640104001,funding,2024-Q1,12345678901234.57,\n"
    second = HEADER + "640104001,funding,2024-Q1,12345678901234.58,\n"
    assert run(url, write(tmp_path, first))[0] == 0
    assert run(url, write(tmp_path, second, "fix.csv"))[0] == 0
    engine = sync_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(select(DataValue.value)).scalar_one()
        audited = connection.execute(
            select(ValueChange.old_value, ValueChange.new_value).order_by(ValueChange.id)
        ).all()
    engine.dispose()
    assert stored == 12345678901234.58
    assert [tuple(row) for row in audited] == [
        (None, 12345678901234.57),
        (12345678901234.57, 12345678901234.58),
    ]
