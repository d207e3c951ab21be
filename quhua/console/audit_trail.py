"""The value audit trail screen's operation: a unit's changes to its values, newest first,
of a period or of every period, a page at a time (the schema's cursors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quhua.console.gateway import Gateway, Problem

PAGE = 100

TRAIL = """
query ConsoleAuditTrail($unit: String!, $period: String, $first: Int!, $after: String) {
  unit: jurisdiction(code: $unit) {
    code name level ancestors { code name level }
    auditTrail(period: $period, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { at actor issuer element disaggregation period oldValue newValue reason
        source } }
    }
  }
}
"""


@dataclass(frozen=True, slots=True)
class TrailBoard:
    unit: dict[str, Any] | None
    changes: list[dict[str, Any]]
    total: int
    # The cursor of the next page, when there is one.
    next_page: str | None
    problem: Problem | None


async def trail(gateway: Gateway, code: str, period: str | None, after: str | None) -> TrailBoard:
    answer = await gateway.run(TRAIL, unit=code, period=period, first=PAGE, after=after)
    unit = answer.data.get("unit")
    found = (unit or {}).get("auditTrail") or {}
    page = found.get("pageInfo") or {}
    return TrailBoard(
        unit=unit,
        changes=[edge["node"] for edge in found.get("edges", [])],
        total=int(found.get("totalCount") or 0),
        next_page=page.get("endCursor") if page.get("hasNextPage") else None,
        problem=answer.problems[0] if answer.problems else None,
    )
