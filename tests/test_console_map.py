"""The dashboard's map: boundaries the operator supplies as GeoJSON (a small synthetic
file here; none ships), checked when the app starts, served to signed-in viewers, and
drawn in a real browser with each unit coloured by the figure GraphQL gives it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from quhua.app import create_app
from quhua.console.boundaries import BoundariesError, load_boundaries
from quhua.settings import Settings
from quhua.synthetic import generate, write_csv
from tests.cli import quhua
from tests.conftest import data_of
from tests.console_pages import (
    SCREENSHOTS,
    SECRET,
    backend_of,
    browser_session,
    console_client,
    served,
    sign_in,
)
from tests.databases import ningxia_world

ROOT = Path(__file__).parent.parent
CITIES = ["6401", "6402", "6403", "6404", "6405"]


def square(code: str, x: float, y: float) -> dict[str, Any]:
    ring = [[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]
    return {
        "type": "Feature",
        "properties": {"code": code, "name": "ignored"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Ningxia with a year of reports of a village of each county, and squares for its
    five cities and Yinchuan's first two districts."""
    folder = tmp_path_factory.mktemp("map")
    with ningxia_world(str(request.param), folder, "ningxia-admin") as (url, admin):
        tree = (ROOT / "quhua" / "data" / "divisions_2023_ningxia.csv").read_text("utf-8")
        first: dict[str, str] = {}
        for code in (line.split(",")[0] for line in tree.splitlines()):
            if len(code) == 12:
                first.setdefault(code[:6], code)
        values = folder / "values.csv"
        write_csv(generate(sorted(first.values()), first_year=2025, years=1, seed=3), values)
        assert quhua("values", "import", str(values), url=url).exit_code == 0
        shapes = collection(
            *(square(code, i, 0) for i, code in enumerate(CITIES)),
            square("640104", 0, 2),
            square("640105", 1, 2),
        )
        path = folder / "boundaries.geojson"
        path.write_text(json.dumps(shapes), encoding="utf-8")
        yield {"url": url, "admin": admin, "boundaries": str(path)}


def test_the_dashboard_maps_the_units_one_level_down(world: dict[str, str]) -> None:
    with console_client(world, boundaries=Path(world["boundaries"])) as client:
        assert client.get("/console/boundaries?under=64&level=city").status_code == 401
        sign_in(client, world["admin"])
        board = client.get("/", params={"unit": "64", "year": "2025", "indicator": "birth_rate"})
        assert board.status_code == 200, board.text
        found = re.search(
            r'<script type="application/json" id="map-data">(.*?)</script>', board.text, re.S
        )
        assert found, "the dashboard has a map"
        drawn = json.loads(found[1])
        assert drawn["source"] == "/console/boundaries?under=64&level=city"
        shapes = client.get(drawn["source"])
        assert shapes.status_code == 200
        assert [f["properties"]["code"] for f in shapes.json()["features"]] == CITIES
        assert "private" in shapes.headers["cache-control"]
        client.headers["Authorization"] = f"Bearer {world['admin']}"
        api = data_of(
            client,
            """{ rollup(under: "64", level: CITY, period: "2025", indicators: ["birth_rate"]) {
                 codes columns { values } } }""",
        )["rollup"]
        del client.headers["Authorization"]
        assert [n["code"] for n in drawn["nodes"]] == api["codes"]
        assert [n["figure"] for n in drawn["nodes"]] == api["columns"][0]["values"]
        # Yinchuan's districts: only those the file has a shape for are drawn.
        yinchuan = client.get("/", params={"unit": "6401", "year": "2025"})
        shapes = client.get("/console/boundaries?under=6401&level=county").json()
        assert [f["properties"]["code"] for f in shapes["features"]] == ["640104", "640105"]
        assert 'id="map-data"' in yinchuan.text
        # Below the file's shapes: no map at all.
        county = client.get("/", params={"unit": "640104", "year": "2025"})
        assert 'id="map-data"' not in county.text
        assert client.get("/console/boundaries?under=64&level=nowhere").status_code == 404
    with console_client(world) as client:
        sign_in(client, world["admin"])
        assert 'id="map-data"' not in client.get("/", params={"unit": "64"}).text, "none shipped"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not UTF-8 JSON"),
        ('{"type": "Feature"}', "not a GeoJSON FeatureCollection"),
        (json.dumps(collection({"type": "Feature", "properties": {}})), "features[0]"),
        (
            json.dumps(collection({**square("6401", 0, 0), "geometry": {"type": "Point"}})),
            "not a Polygon or MultiPolygon",
        ),
        (json.dumps(collection(square("6401", 0, 0), square("6401", 1, 0))), "6401 has a feature"),
    ],
)
def test_a_wrong_boundary_file_stops_the_start(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "boundaries.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BoundariesError, match=re.escape(message)):
        load_boundaries(path)
    settings = Settings(database_url="sqlite://", console_secret=SECRET, boundaries=path)
    with pytest.raises(BoundariesError, match=re.escape(message)):
        create_app(settings)


def test_the_map_in_a_browser(world: dict[str, str], chromium: Browser, tmp_path: Path) -> None:
    problems: list[str] = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    env = {"QUHUA_BOUNDARIES": world["boundaries"]}
    with (
        served(world, tmp_path, env) as server,
        browser_session(chromium, server.base, world["admin"], problems) as page,
    ):
        page.goto(server.base + "/?unit=64&year=2025&kind=year")
        page.wait_for_selector('[data-testid="map"][data-drawn="true"]')
        assert page.locator('[data-testid="map"] svg path').count() >= len(CITIES)
        # Hovering shows tooltips drawn in the plot: the HTML ones style themselves
        # inline, which the page's CSP refuses (and would be noted as problems).
        treemap = page.locator('[data-testid="treemap"] svg').get_by_text("常住人口: ")
        expect(treemap).to_have_count(0)
        for name in ("map", "chart", "treemap"):
            page.locator(f'[data-testid="{name}"]').hover()
        expect(treemap.first).to_be_visible()
        # A window shrunk to nothing and back: the map is passed over, then redrawn.
        drawn = page.locator('[data-testid="map"] svg')
        width = drawn.get_attribute("width")
        page.set_viewport_size({"width": 1, "height": 1})
        expect(page.locator('[data-testid="map"]')).to_have_js_property("clientWidth", 0)
        page.set_viewport_size({"width": 1300, "height": 900})
        expect(drawn).to_have_attribute("width", width or "")
        page.screenshot(
            path=str(SCREENSHOTS / f"console-map-{backend_of(world)}.png"), full_page=True
        )
    assert problems == []
