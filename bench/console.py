"""Benchmark: how soon the console's dashboard is usable in a browser, by its own timing.

    .venv/bin/python bench/console.py [--backend sqlite|postgresql] [--months 12] [--loads 10]

Builds a database with the Ningxia tree, the default catalogue
and --months months of 2025 of the demo's synthetic reports for every village; starts
`quhua serve` as an operator would; signs in through the console in Debian's Chromium as the
province's administrator; and loads each dashboard --loads times (after one load to warm
up): the province (its 5 cities), a city (its counties), a county (its townships) and a
township (its villages). For each it prints, from the browser's Navigation Timing, the
median and slowest: the server's answer (requestStart to responseEnd, the page's GraphQL
operations included), DOMContentLoaded, and the chart and the treemap drawn (their
data-drawn marks), all measured from the navigation's start.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.feed import build
from tests.browser import chromium_browser
from tests.databases import fresh_database, issue_token
from tests.processes import quhua_server

DASHBOARDS = {
    "province 64": "64",
    "city 6401": "6401",
    "county 640104": "640104",
    "township 640104001": "640104001",
}
TIMING = """() => {
  const [n] = performance.getEntriesByType("navigation");
  return {server: n.responseEnd - n.requestStart, ready: n.domContentLoadedEventEnd,
          drawn: performance.now()};
}"""


def measure(base: str, token: str, loads: int) -> None:
    with chromium_browser() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(base + "/")
        page.fill("#token", token)
        page.click("form[action$='sign-in'] button[type=submit]")
        page.wait_for_selector('[data-testid="viewer"]')
        header = f"{'server ms':>20}{'DOMContentLoaded ms':>24}{'charts drawn ms':>20}"
        print(f"{'dashboard':<22}{header}")
        for name, code in DASHBOARDS.items():
            runs: dict[str, list[float]] = {"server": [], "ready": [], "drawn": []}
            for run in range(loads + 1):
                page.goto(f"{base}/?unit={code}&year=2025&kind=year")
                page.wait_for_selector('[data-testid="chart"][data-drawn="true"]')
                page.wait_for_selector('[data-testid="treemap"][data-drawn="true"]')
                timing = page.evaluate(TIMING)
                if run:
                    for key, values in runs.items():
                        values.append(float(timing[key]))
            cells = [
                f"{statistics.median(values):.0f} (max {max(values):.0f})"
                for values in runs.values()
            ]
            print(f"{name:<22}{cells[0]:>20}{cells[1]:>24}{cells[2]:>20}")
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--loads", type=int, default=10)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        with fresh_database(arguments.backend, folder) as url:
            inserted = build(url, arguments.months)
            print(f"{inserted:,} values of {arguments.months} months, {arguments.backend}")
            token = issue_token(url, "ningxia-admin", "admin", "64")
            run(url, token, folder, arguments.loads)


def run(url: str, token: str, folder: Path, loads: int) -> None:
    env = {"QUHUA_DATABASE_URL": url, "QUHUA_DATA_DIR": str(folder)}
    with quhua_server("serve", folder=folder, env=env) as server:
        measure(server.base, token, loads)


if __name__ == "__main__":
    main()
