"""The approval screen's figures and acts: where a unit's month stands, each unit one level
down with its report and its approval, and approving, withdrawing and returning through
the schema's mutations as the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from quhua.console.gateway import Gateway, Problem
from tenancy.levels import LEVEL_BY_CODE_LENGTH, Level

# Units one level down on one page: every township of a county, every village of a
# township (the largest Ningxia township has fewer).
BELOW_SHOWN = 500
WAITING_SHOWN = 50
Act = Literal["approve", "withdraw", "return"]
ACTS: tuple[Act, ...] = ("approve", "withdraw", "return")
# The acts whose reason the audit keeps and the page asks for.
REASON_NEEDED = frozenset({"withdraw", "return"})

GIVEN = "approvedHere { unit { code name } approved { at actor reason } }"
APPROVAL = f"""
query ConsoleApproval($unit: String!, $period: String!, $child: Level!, $first: Int!,
                      $waiting: Int!) {{
  unit: jurisdiction(code: $unit) {{ code name level ancestors {{ code name level }} }}
  status: approvalStatus(unit: $unit, period: $period) {{
    state approves waitingCount waitingFor(first: $waiting) {{ unit {{ code name }} needs }}
    {GIVEN}
    approvedAbove {{ unit {{ code name }} approved {{ at actor reason }} }}
  }}
  below: approvalStatuses(under: $unit, period: $period, level: $child, first: $first) {{
    totalCount edges {{ node {{ unit {{ code name }} state approves waitingCount {GIVEN} }} }}
  }}
  reports: reportingStatus(under: $unit, period: $period, level: $child) {{
    below {{ unit {{ code }} counts {{ expected submitted onTime late missing returned }} }}
  }}
}}
"""

MUTATIONS: dict[Act, str] = {
    "approve": """mutation ConsoleApprove($unit: String!, $period: String!, $reason: String!) {
  approve(unit: $unit, period: $period, reason: $reason) { state } }""",
    "withdraw": """mutation ConsoleWithdraw($unit: String!, $period: String!, $reason: String!) {
  withdrawApproval(unit: $unit, period: $period, reason: $reason) { state } }""",
    "return": """mutation ConsoleReturn($unit: String!, $period: String!, $reason: String!) {
  returnForCorrection(unit: $unit, period: $period, reason: $reason) { state } }""",
}


@dataclass(frozen=True, slots=True)
class Child:
    unit: dict[str, Any]
    status: dict[str, Any]
    # The unit's own report of the month: its counts at its level (expected 0: none due).
    report: dict[str, Any] | None


@dataclass(slots=True)
class Board:
    unit: dict[str, Any] | None
    status: dict[str, Any] | None
    below: list[Child]
    total_below: int
    problem: Problem | None
    # What the viewer's act came to: the act and its target, or why it was refused.
    done: tuple[str, str] | None = None
    refusal: Problem | None = None


def child_level(code: str) -> Level | None:
    """The level one below a unit of the code; None for a village or no unit's code."""
    level = LEVEL_BY_CODE_LENGTH.get(len(code)) if code.isascii() and code.isdigit() else None
    return None if level is None else level.child


async def board(gateway: Gateway, code: str, child: Level, month: str) -> Board:
    answer = await gateway.run(
        APPROVAL,
        unit=code,
        period=month,
        child=child.name,
        first=BELOW_SHOWN,
        waiting=WAITING_SHOWN,
    )
    data = answer.data
    counts = {
        row["unit"]["code"]: row["counts"] for row in (data.get("reports") or {}).get("below") or []
    }
    below = (data.get("below") or {}).get("edges") or []
    # The audit's parts (who approved) need audit:read; the states do not.
    fatal = [p for p in answer.problems if len(p.path) <= 2]
    return Board(
        unit=data.get("unit"),
        status=data.get("status"),
        below=[
            Child(edge["node"]["unit"], edge["node"], counts.get(edge["node"]["unit"]["code"]))
            for edge in below
        ],
        total_below=int((data.get("below") or {}).get("totalCount") or 0),
        problem=fatal[0] if fatal else None,
    )


async def act(gateway: Gateway, act: Act, target: str, month: str, reason: str) -> Problem | None:
    """Do the act on the target's month; the schema's refusal, if it refused."""
    answer = await gateway.run(MUTATIONS[act], unit=target, period=month, reason=reason)
    return answer.problems[0] if answer.problems else None
