"""The dashboard's figures: two GraphQL operations, and what the page draws from them.

The first operation reads who the viewer is and the catalogue's indicators; the second,
the unit with its breadcrumbs, the grid of the units one level down and the chart's two
series. Whatever the viewer may not read comes back as the schema's own error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from quhua.console.gateway import Answer, Gateway, Problem
from quhua.console.period_choice import PeriodChoice, chart_months
from tenancy.levels import LEVEL_BY_CODE_LENGTH, Level

# The grid's columns: the catalogue's indicators (the shipped one has 15), in its order.
GRID_INDICATORS = 20
# The chart's indicator until the viewer picks one: the shipped catalogue's headline
# figure, or any other catalogue's first.
CHART_INDICATOR = "birth_rate"
# Rows of the grid on one page: every county of a province, every village of a township.
GRID_ROWS = 200
# The treemap's areas: each unit's resident population (the element's roll-up for the
# period), when the catalogue has the element; its colours are the chart's indicator.
SIZE_ELEMENT = "population"
# Errors under these fields leave the rest of the dashboard standing: the treemap is drawn
# without them.
OPTIONAL_PARTS = ("sizes",)

VIEWER = """
query ConsoleViewer {
  me { subject { name } grants { role actions jurisdiction { code name level } } }
  catalogue { statisticalYearStarts indicators { code name unit } elements { code name } }
}
"""

DASHBOARD = """
query ConsoleDashboard(
  $unit: String!, $level: Level!, $period: String!, $indicators: [String!]!, $rows: Int!,
  $order: RollupOrder, $sizes: [String!]!, $withSizes: Boolean!,
  $indicator: String!, $from: String!, $to: String!, $lastFrom: String!, $lastTo: String!
) {
  unit: jurisdiction(code: $unit) { code name level ancestors { code name level } }
  grid: rollup(under: $unit, level: $level, period: $period, indicators: $indicators,
               orderBy: $order, first: $rows) {
    codes names totalCount hasNextPage
    columns { code name unit values reportingUnits expectedUnits nullReasons }
  }
  sizes: rollup(under: $unit, level: $level, period: $period, elements: $sizes, first: $rows)
    @include(if: $withSizes) { codes columns { values } }
  thisYear: series(code: $unit, indicator: $indicator, from: $from, to: $to) {
    unit values
  }
  lastYear: series(code: $unit, indicator: $indicator, from: $lastFrom, to: $lastTo) {
    values
  }
}
"""

SEARCH = """
query ConsoleSearch($search: String!, $first: Int!) {
  jurisdictions(search: $search, first: $first) {
    totalCount edges { node { code name level parent { name } } }
  }
}
"""


@dataclass(frozen=True, slots=True)
class GridOrder:
    column: str
    descending: bool


@dataclass(frozen=True, slots=True)
class Viewer:
    name: str
    # The units of the viewer's grants, in the order GraphQL lists them.
    units: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    # What each grant lets the viewer do where: (unit code, action) pairs, as the
    # schema's Action names them. A page offers only what is here; the server decides.
    may_do: frozenset[tuple[str, str]] = frozenset()
    # The month (1-12) the catalogue's statistical year starts in.
    year_starts: int = 1
    elements: frozenset[str] = frozenset()

    def may(self, action: str, unit: dict[str, Any]) -> bool:
        """Whether a grant at the unit or one of its ancestors holds the action."""
        codes = [unit["code"], *(above["code"] for above in unit.get("ancestors") or [])]
        return any((code, action) in self.may_do for code in codes)


@dataclass(frozen=True, slots=True)
class Cell:
    value: float | None
    reporting: int
    expected: int
    null_reason: str | None


@dataclass(frozen=True, slots=True)
class Row:
    code: str
    name: str
    cells: list[Cell]


@dataclass(frozen=True, slots=True)
class Dashboard:
    unit: dict[str, Any] | None
    columns: list[dict[str, Any]]
    rows: list[Row]
    total: int
    # Links down the tree: the rows, unless the rows are the unit itself (a village).
    rows_link: bool
    chart: dict[str, Any]
    # The chart's indicator for each row, as the map colours the units.
    figures: list[dict[str, Any]]
    # The treemap: one node per row with a size (its population) and its figure.
    treemap: dict[str, Any]
    problem: Problem | None


async def viewer(gateway: Gateway) -> Viewer:
    answer = await gateway.run(VIEWER)
    me = answer.data.get("me") or {}
    grants = me.get("grants") or []
    units = list({g["jurisdiction"]["code"]: g["jurisdiction"] for g in grants}.values())
    catalogue = answer.data.get("catalogue") or {}
    return Viewer(
        name=(me.get("subject") or {}).get("name", ""),
        units=units,
        indicators=catalogue.get("indicators") or [],
        may_do=frozenset(
            (g["jurisdiction"]["code"], action) for g in grants for action in g["actions"]
        ),
        year_starts=int(catalogue.get("statisticalYearStarts") or 1),
        elements=frozenset(e["code"] for e in catalogue.get("elements") or []),
    )


def grid_level(code: str) -> Level | None:
    """The level the grid lists: one below the unit's, or a village's own."""
    level = LEVEL_BY_CODE_LENGTH.get(len(code)) if code.isascii() and code.isdigit() else None
    if level is None:
        return None
    return level.child or level


async def dashboard(
    gateway: Gateway,
    *,
    code: str,
    level: Level,
    period: PeriodChoice,
    indicator: str,
    columns: list[str],
    series_name: str,
    order: GridOrder | None = None,
    year_starts: int = 1,
    sized: bool = False,
) -> Dashboard:
    """The unit's dashboard for the period; `indicator` is the one the chart and the
    treemap's colours follow (`sized`: the catalogue has the treemap's size element); rows
    in code order unless `order` names a column."""
    this, last = period.year, period.year - 1
    first, final = chart_months(period, year_starts)
    last_first, last_final = chart_months(replace(period, year=last), year_starts)
    answer = await gateway.run(
        DASHBOARD,
        unit=code,
        level=level.name,
        period=period.period,
        indicators=columns,
        rows=GRID_ROWS,
        order={"column": order.column, "descending": order.descending} if order else None,
        sizes=[SIZE_ELEMENT],
        withSizes=sized,
        indicator=indicator,
        **{"from": first, "to": final},
        lastFrom=last_first,
        lastTo=last_final,
    )
    grid = answer.data.get("grid") or {}
    rows = _rows(grid)
    figures = _figures(rows, grid, indicator)
    return Dashboard(
        unit=answer.data.get("unit"),
        columns=[
            {k: column[k] for k in ("code", "name", "unit")} for column in grid.get("columns", [])
        ],
        rows=rows,
        total=int(grid.get("totalCount") or 0),
        rows_link=len(code) != Level.VILLAGE.code_length,
        chart=_chart(answer, indicator, series_name, (this, last), int(first[5:])),
        figures=figures,
        treemap=_treemap(answer, figures, indicator, series_name),
        problem=_first_problem(answer),
    )


async def search(
    gateway: Gateway, text: str, first: int = 20
) -> tuple[list[dict[str, Any]], Problem | None]:
    """Units whose name holds the text or whose code starts with it, in the viewer's scope."""
    answer = await gateway.run(SEARCH, search=text, first=first)
    found = answer.data.get("jurisdictions") or {}
    return [edge["node"] for edge in found.get("edges", [])], _first_problem(answer)


def _rows(grid: dict[str, Any]) -> list[Row]:
    columns = grid.get("columns") or []
    return [
        Row(
            code=code,
            name=name,
            cells=[
                Cell(
                    value=column["values"][i],
                    reporting=column["reportingUnits"][i],
                    expected=column["expectedUnits"][i],
                    null_reason=column["nullReasons"][i],
                )
                for column in columns
            ],
        )
        for i, (code, name) in enumerate(
            zip(grid.get("codes", []), grid.get("names", []), strict=True)
        )
    ]


def _chart(
    answer: Answer, indicator: str, name: str, years: tuple[int, int], first_month: int
) -> dict[str, Any]:
    """What the page's script hands ECharts: twelve months of each year, from its first."""
    return {
        "indicator": indicator,
        "name": name,
        "unit": (answer.data.get("thisYear") or {}).get("unit", ""),
        "months": [str((first_month - 1 + i) % 12 + 1) for i in range(12)],
        "series": [
            {"year": year, "values": (answer.data.get(alias) or {}).get("values", [])}
            for alias, year in zip(("thisYear", "lastYear"), years, strict=True)
        ],
    }


def _figures(rows: list[Row], grid: dict[str, Any], indicator: str) -> list[dict[str, Any]]:
    """Each row's code, name and figure of the indicator (None when the grid lacks it)."""
    codes = [column["code"] for column in grid.get("columns") or []]
    at = codes.index(indicator) if indicator in codes else None
    return [
        {"code": row.code, "name": row.name, "figure": None if at is None else row.cells[at].value}
        for row in rows
    ]


def _treemap(
    answer: Answer, figures: list[dict[str, Any]], indicator: str, name: str
) -> dict[str, Any]:
    """What the page's script hands ECharts for the treemap: each row's population as its
    area, the indicator's figure as its colour (none: grey). Rows without a population
    have no area and are left out."""
    found = answer.data.get("sizes") or {}
    columns = found.get("columns") or []
    values = columns[0]["values"] if columns else []
    sizes = dict(zip(found.get("codes") or [], values, strict=False))
    nodes = [{**row, "size": sizes[row["code"]]} for row in figures if sizes.get(row["code"])]
    return {"indicator": indicator, "name": name, "nodes": nodes}


def _first_problem(answer: Answer) -> Problem | None:
    shown = [p for p in answer.problems if not (p.path and p.path[0] in OPTIONAL_PARTS)]
    return shown[0] if shown else None
