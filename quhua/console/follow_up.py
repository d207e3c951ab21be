"""The assessment and data quality screens' figures: one GraphQL operation each.

Assessment: a unit's own grade for a year (its targets, met or not, and why) and the
ranking of the units one level down by score. Data quality: the outliers among the
villages' values of a period and the validation rules the subtree's values fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quhua.console.gateway import Gateway, Problem
from tenancy.levels import Level

RANKED = 200
FINDINGS = 50

ASSESSMENT = """
query ConsoleAssessment($unit: String!, $level: Level!, $year: String!, $first: Int!) {
  unit: jurisdiction(code: $unit) {
    code name level ancestors { code name level }
    assessment(year: $year) {
      score grade reason basis
      targets { indicator name unit bound value actual met margin missing veto weight }
    }
  }
  ranking(under: $unit, level: $level, year: $year, first: $first) {
    totalCount
    edges { node { rank value nullReason jurisdiction { code name }
      assessment { score grade reason } } }
  }
}
"""

QUALITY = """
query ConsoleQuality($unit: String!, $period: String!, $first: Int!) {
  unit: jurisdiction(code: $unit) { code name level ancestors { code name level } }
  outliers(under: $unit, period: $period, first: $first) {
    totalCount
    edges { node { unit { code name } element disaggregation period value score severity
      median historyPoints historyFrom historyTo } }
  }
  violations: validationViolations(under: $unit, period: $period, first: $first) {
    totalCount
    edges { node { period leftValue rightValue foundAt jurisdiction { code name }
      rule { code name importance } } }
  }
}
"""


@dataclass(frozen=True, slots=True)
class Listing:
    total: int
    rows: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class AssessmentBoard:
    unit: dict[str, Any] | None
    ranking: Listing
    problem: Problem | None


@dataclass(frozen=True, slots=True)
class QualityBoard:
    unit: dict[str, Any] | None
    outliers: Listing
    violations: Listing
    problem: Problem | None


async def assessment(gateway: Gateway, code: str, level: Level, year: str) -> AssessmentBoard:
    answer = await gateway.run(ASSESSMENT, unit=code, level=level.name, year=year, first=RANKED)
    return AssessmentBoard(
        unit=answer.data.get("unit"),
        ranking=_listing(answer.data.get("ranking")),
        problem=answer.problems[0] if answer.problems else None,
    )


async def quality(gateway: Gateway, code: str, period: str) -> QualityBoard:
    answer = await gateway.run(QUALITY, unit=code, period=period, first=FINDINGS)
    return QualityBoard(
        unit=answer.data.get("unit"),
        outliers=_listing(answer.data.get("outliers")),
        violations=_listing(answer.data.get("violations")),
        problem=answer.problems[0] if answer.problems else None,
    )


def _listing(found: dict[str, Any] | None) -> Listing:
    found = found or {}
    return Listing(
        total=int(found.get("totalCount") or 0),
        rows=[edge["node"] for edge in found.get("edges", [])],
    )
