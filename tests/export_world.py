"""A tiny world for the export tests: two provinces' worth of units, a few values, one
approved month; tokens for the callers the tests compare."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

from tests.cli import quhua
from tests.conftest import client_for, data_of
from tests.databases import fresh_database, issue_token, load_catalogue, upgrade

TREE = (
    "code,name,level,parent_code\n"
    "64,宁夏回族自治区,province,\n"
    "6401,银川市,city,64\n"
    "640104,兴庆区,county,6401\n"
    "640104001,凤凰北街街道,township,640104\n"
    "640104001001,丽景社区居民委员会,village,640104001\n"
    "640104001002,北塔社区居民委员会,village,640104001\n"
    "65,新疆维吾尔自治区,province,\n"
    "6501,乌鲁木齐市,city,65\n"
    "650102,天山区,county,6501\n"
    "650102001,燕儿窝街道,township,650102\n"
    '650102001001,"南山社区,居民委员会",village,650102001\n'
)
VALUES = (
    "jurisdiction,element,period,value,disaggregation\n"
    "640104001002,births,2024-03,3,sex=male;parity=1\n"
    "640104001002,births,2024-03,1,sex=female;parity=2\n"
    "640104001002,population,2024-03,600,sex=male\n"
    "640104001002,population,2024-03,600,sex=female\n"
    "640104001001,deaths,2024-03,2,\n"
    "640104001001,fees_collected,2024-03,1234.5,\n"
    "640104001001,births,2024-04,2,sex=female;parity=1\n"
    "640104001,funding,2024-Q1,12000.25,\n"
    "650102001001,births,2024-03,7,sex=male;parity=1\n"
)
TOWNSHIP = "640104001"
VILLAGES = ("640104001001", "640104001002")
SUBMIT_REPORT = """mutation($unit: String!, $period: String!) {
  submitReport(unit: $unit, period: $period, comment: "checked") { report { state } } }"""
APPROVE = """mutation($unit: String!, $period: String!) {
  approve(unit: $unit, period: $period, reason: "looks right") { state } }"""


@contextmanager
def export_world(backend: str, folder: Path) -> Iterator[dict[str, str]]:
    """The database's URL and the callers' tokens: `admin` (admin at 64), `reader`
    (aggregate_reader at 64), `township` (viewer at the township), `other` (viewer at 65)."""
    with fresh_database(backend, folder) as url:
        upgrade(url)
        tree = folder / "tree.csv"
        tree.write_text(TREE, encoding="utf-8")
        loaded = quhua("divisions", "load", str(tree), "--valid-from", "2023-06-30", url=url)
        assert loaded.exit_code == 0, loaded.stdout
        load_catalogue(url)
        values = folder / "values.csv"
        values.write_text(VALUES, encoding="utf-8")
        imported = quhua("values", "import", str(values), url=url)
        assert imported.exit_code == 0, imported.stdout + imported.stderr
        world = {
            "url": url,
            "admin": issue_token(url, "export-admin", "admin", "64"),
            "reader": issue_token(url, "province-system", "aggregate_reader", "64"),
            "township": issue_token(url, "township-viewer", "viewer", TOWNSHIP),
            "other": issue_token(url, "xinjiang-viewer", "viewer", "65"),
        }
        with client_for(url, world["admin"]) as admin:
            # March 2024 is approved by the township; April is not.
            for unit in (*VILLAGES, TOWNSHIP):
                data_of(admin, SUBMIT_REPORT, unit=unit, period="2024-03")
            approved = data_of(admin, APPROVE, unit=TOWNSHIP, period="2024-03")
            assert approved["approve"]["state"] == "APPROVED_HERE", approved
        yield world


def export(client: TestClient, path: str, **params: Any) -> httpx.Response:
    """GET an export with plain (not gzip) transfer."""
    return client.get(path, params=params, headers={"Accept-Encoding": "identity"})
