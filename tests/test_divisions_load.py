"""`quhua divisions load`: the real tree, reloads, changes and bad files."""

from __future__ import annotations

import gzip
import json
import lzma
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db.engine import sync_engine
from quhua.demo import shipped_data
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tests.cli import quhua
from tests.databases import NINGXIA

HEADER = "code,name,level,parent_code\n"
SMALL = HEADER + (
    "64,宁夏回族自治区,province,\n"
    "6401,银川市,city,64\n"
    "640104,兴庆区,county,6401\n"
    "640104001,凤凰北街街道,township,640104\n"
    "640104001001,丽景社区居民委员会,village,640104001\n"
    "640104001002,北塔社区居民委员会,village,640104001\n"
)
GONE = "640104001002,北塔社区居民委员会,village,640104001\n"


def snapshot(url: str) -> list[tuple[Any, ...]]:
    engine = sync_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    Jurisdiction.code,
                    Jurisdiction.name,
                    Jurisdiction.level,
                    Jurisdiction.parent_id,
                    Jurisdiction.path,
                    Jurisdiction.valid_from,
                    Jurisdiction.valid_to,
                ).order_by(Jurisdiction.code)
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def load_json(path: Path, url: str, *extra: str) -> tuple[int, dict[str, Any]]:
    result = quhua("divisions", "load", str(path), "--json", *extra, url=url)
    return result.exit_code, json.loads(result.stdout)


def write(tmp_path: Path, text: str, name: str = "tree.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_ningxia_loads_with_every_level(migrated_url: str) -> None:
    code, report = load_json(shipped_data(NINGXIA), migrated_url, "--valid-from", "2023-06-30")
    assert code == 0 and report["inserted"] == 3199
    engine = sync_engine(migrated_url)
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                select(Jurisdiction.level, func.count()).group_by(Jurisdiction.level)
            ).all()
        )
        village = connection.execute(
            select(Jurisdiction.name, Jurisdiction.path, Jurisdiction.valid_from).where(
                Jurisdiction.code == "640104001002"
            )
        ).one()
    engine.dispose()
    assert counts == {
        Level.PROVINCE: 1,
        Level.CITY: 5,
        Level.COUNTY: 22,
        Level.TOWNSHIP: 259,
        Level.VILLAGE: 2912,
    }
    assert village.name == "崇安社区居委会"
    assert village.path == "64/6401/640104/640104001/640104001002/"
    assert village.valid_from.isoformat() == "2023-06-30"


def test_reloading_the_same_file_changes_nothing(migrated_url: str) -> None:
    assert load_json(shipped_data(NINGXIA), migrated_url)[0] == 0
    before = snapshot(migrated_url)
    code, report = load_json(shipped_data(NINGXIA), migrated_url)
    assert code == 0
    assert report["unchanged"] == 3199 and report["inserted"] == report["renamed"] == 0
    assert snapshot(migrated_url) == before


def test_compressed_files_load_like_plain_ones(migrated_url: str, tmp_path: Path) -> None:
    xz = tmp_path / "tree.csv.xz"
    xz.write_bytes(lzma.compress(SMALL.encode()))
    gz = tmp_path / "tree.csv.gz"
    gz.write_bytes(gzip.compress(SMALL.encode()))
    assert load_json(xz, migrated_url)[1]["inserted"] == 6
    assert load_json(gz, migrated_url)[1]["unchanged"] == 6


def test_a_changed_name_is_updated_in_place(migrated_url: str, tmp_path: Path) -> None:
    load_json(write(tmp_path, SMALL), migrated_url)
    before = {row[0]: row for row in snapshot(migrated_url)}
    renamed = SMALL.replace("丽景社区居民委员会", "丽景社区")
    code, report = load_json(write(tmp_path, renamed), migrated_url)
    assert code == 0 and report["renamed"] == 1 and report["unchanged"] == 5
    after = {row[0]: row for row in snapshot(migrated_url)}
    assert after["640104001001"][1] == "丽景社区"
    # Same unit: same parent, path and history.
    assert after["640104001001"][2:] == before["640104001001"][2:]


def test_a_missing_unit_is_reported_and_retired_only_when_asked(
    migrated_url: str, tmp_path: Path
) -> None:
    load_json(write(tmp_path, SMALL), migrated_url, "--valid-from", "2023-06-30")
    smaller = write(
        tmp_path, SMALL.replace("640104001002,北塔社区居民委员会,village,640104001\n", "")
    )
    code, report = load_json(smaller, migrated_url)
    assert code == 0
    assert report["missing"] == 1 and report["missingSample"] == ["640104001002"]
    assert report["retired"] == 0
    assert all(row[6] is None for row in snapshot(migrated_url))

    code, report = load_json(
        smaller, migrated_url, "--retire-missing", "--valid-from", "2024-01-01"
    )
    assert code == 0 and report["retired"] == 1
    retired = {row[0]: row for row in snapshot(migrated_url)}["640104001002"]
    assert retired[6].isoformat() == "2024-01-01"

    code, report = load_json(write(tmp_path, SMALL), migrated_url)
    assert code == 0 and report["restored"] == 1
    assert {row[0]: row for row in snapshot(migrated_url)}["640104001002"][6] is None


def test_a_partial_file_does_not_report_the_rest_of_the_tree(
    migrated_url: str, tmp_path: Path
) -> None:
    load_json(shipped_data(NINGXIA), migrated_url)
    one_township = HEADER + "640104001999,新增社区,village,640104001\n"
    code, report = load_json(write(tmp_path, one_township), migrated_url)
    assert code == 0 and report["inserted"] == 1 and report["missing"] == 0


BAD_ROWS = [
    ("6402,石嘴山市,prefecture,64", "unknown level 'prefecture'"),
    ("6499,某市,city,", "missing parent: a city needs a province"),
    ("649901,某县,county,6499", "missing parent: 6499 is neither in the file nor in the database"),
    ("640105,西夏区,county,64", "parent 64 is a province, not one level up"),
    ("640201,大武口区,county,6401", "code 640201 is not prefixed by its parent's code 6401"),
    ("6401,银川市,city,64", "duplicate code 6401 (first at line 3)"),
    ("6403,,city,64", "empty name"),
    ("64x4,吴忠市,city,64", "malformed code '64x4': digits only"),
    ("64040,吴忠市,city,64", "malformed code '64040': a division code has"),
    ("640104002,解放西街街道,county,6401", "malformed code '640104002': a county code has 6"),
    ("65,新疆维吾尔自治区,province,64", "a province has no parent"),
    ("6404,固原市,city", "3 fields where the header has 4"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS, ids=[r for _, r in BAD_ROWS])
def test_a_bad_row_is_refused_with_its_line_and_nothing_is_written(
    migrated_url: str, tmp_path: Path, row: str, reason: str
) -> None:
    load_json(write(tmp_path, SMALL, "first.csv"), migrated_url)
    before = snapshot(migrated_url)
    # New good rows around the bad one: none of them may be written either.
    text = SMALL + row + "\n" + "640104001009,新社区,village,640104001\n"
    code, report = load_json(write(tmp_path, text), migrated_url)
    assert code == 1 and not report["written"]
    assert report["errorCount"] >= 1
    first = report["errors"][0]
    assert first["line"] == 8, report["errors"]
    assert reason in first["reason"]
    assert snapshot(migrated_url) == before


def test_every_bad_row_is_listed_in_line_order(migrated_url: str, tmp_path: Path) -> None:
    text = SMALL + "".join(row + "\n" for row, _ in BAD_ROWS)
    result = quhua("divisions", "load", str(write(tmp_path, text)), url=migrated_url)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(tmp_path))]
    numbers = [int(line.split(":")[1]) for line in lines]
    assert numbers == sorted(numbers)
    # Line 10's parent is line 9: bad, but present, so line 10 is not blamed for it.
    assert set(numbers) == set(range(8, 8 + len(BAD_ROWS))) - {10}
    assert "nothing was written" in result.stderr
    assert snapshot(migrated_url) == []


def test_a_child_of_a_retired_unit_is_refused(migrated_url: str, tmp_path: Path) -> None:
    load_json(write(tmp_path, SMALL), migrated_url)
    without_township = HEADER + "64,宁夏回族自治区,province,\n6401,银川市,city,64\n"
    load_json(write(tmp_path, without_township), migrated_url, "--retire-missing")
    code, report = load_json(
        write(tmp_path, HEADER + "640104001003,新社区,village,640104001\n"), migrated_url
    )
    assert code == 1
    assert "parent 640104001 was retired" in report["errors"][0]["reason"]


def test_a_file_without_the_expected_header_is_refused(migrated_url: str, tmp_path: Path) -> None:
    result = quhua("divisions", "load", str(write(tmp_path, "id,title\n1,x\n")), url=migrated_url)
    assert result.exit_code == 1
    assert "header lacks code, name, level, parent_code" in result.stderr


def test_dry_run_reports_and_writes_nothing(migrated_url: str, tmp_path: Path) -> None:
    code, report = load_json(write(tmp_path, SMALL), migrated_url, "--dry-run")
    assert code == 0 and report["inserted"] == 6 and not report["written"]
    assert snapshot(migrated_url) == []


def test_loading_into_a_database_behind_names_the_command(empty_url: str) -> None:
    result = quhua("divisions", "load", str(shipped_data(NINGXIA)), url=empty_url)
    assert result.exit_code == 1
    assert "quhua db upgrade" in result.stderr


def test_retiring_before_a_unit_existed_is_refused(migrated_url: str, tmp_path: Path) -> None:
    load_json(write(tmp_path, SMALL), migrated_url, "--valid-from", "2024-06-01")
    before = snapshot(migrated_url)
    smaller = write(
        tmp_path, SMALL.replace("640104001002,北塔社区居民委员会,village,640104001\n", "")
    )
    code, report = load_json(
        smaller, migrated_url, "--retire-missing", "--valid-from", "2024-01-01"
    )
    assert code == 1
    assert report["errors"][0]["reason"].startswith("cannot retire 640104001002 on 2024-01-01")
    assert snapshot(migrated_url) == before
