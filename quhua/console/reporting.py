"""The reporting status screen's figures: one GraphQL operation, and what the page lists.

For a unit, a period and the level whose reports are followed: how many reports were
expected, came in, came in on time or late, are missing or were sent back, for the unit's
whole subtree and for each unit one level down; and the units whose report is missing,
late or returned, the first page of each. Whatever the viewer may not read comes back as
the schema's own error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quhua.console.gateway import Gateway, Problem
from quhua.console.period_choice import PeriodChoice
from tenancy.levels import LEVEL_BY_CODE_LENGTH, Level

# Units of each follow-up list on the page; the count says how many there are in all.
FOLLOW_UPS = 50

COUNTS = "expected submitted onTime late missing returned completeness timeliness"
FOLLOW_UP = """totalCount edges { node { period unit { code name }
  report { state firstSubmittedAt onTime } } }"""
REPORTING = f"""
query ConsoleReporting($unit: String!, $period: String!, $level: Level!, $first: Int!) {{
  unit: jurisdiction(code: $unit) {{ code name level ancestors {{ code name level }} }}
  status: reportingStatus(under: $unit, period: $period, level: $level) {{
    counts {{ {COUNTS} }}
    below {{ unit {{ code name level }} counts {{ {COUNTS} }} }}
    missingUnits(first: $first) {{ {FOLLOW_UP} }}
    lateUnits(first: $first) {{ {FOLLOW_UP} }}
    returnedUnits(first: $first) {{ {FOLLOW_UP} }}
  }}
}}
"""
# The follow-up lists, in the order the page shows them.
FOLLOW_UP_LISTS = ("missingUnits", "lateUnits", "returnedUnits")


@dataclass(frozen=True, slots=True)
class FollowUps:
    name: str  # missingUnits, lateUnits or returnedUnits
    total: int
    units: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ReportingBoard:
    unit: dict[str, Any] | None
    counts: dict[str, Any] | None
    below: list[dict[str, Any]]
    follow_ups: list[FollowUps]
    problem: Problem | None


def levels_followed(code: str) -> list[Level]:
    """The levels whose reports a unit of the code can follow: its own and those below
    (none for a code of no level's length)."""
    level = LEVEL_BY_CODE_LENGTH.get(len(code)) if code.isascii() and code.isdigit() else None
    found = []
    while level is not None:
        found.append(level)
        level = level.child
    return found


async def reporting(
    gateway: Gateway, *, code: str, level: Level, period: PeriodChoice
) -> ReportingBoard:
    answer = await gateway.run(
        REPORTING, unit=code, period=period.period, level=level.name, first=FOLLOW_UPS
    )
    status = answer.data.get("status") or {}
    return ReportingBoard(
        unit=answer.data.get("unit"),
        counts=status.get("counts"),
        below=status.get("below") or [],
        follow_ups=[
            FollowUps(
                name=name,
                total=int((status.get(name) or {}).get("totalCount") or 0),
                units=[edge["node"] for edge in (status.get(name) or {}).get("edges", [])],
            )
            for name in FOLLOW_UP_LISTS
            if name in status
        ],
        problem=answer.problems[0] if answer.problems else None,
    )
