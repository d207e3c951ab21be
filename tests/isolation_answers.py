"""What the isolation property checks in an answer: every unit, value, audit entry,
finding and state it holds lies where the caller may read it."""

from __future__ import annotations

from typing import Any

from tests.isolation_model import Caller

# Findings about one unit (data quality), always asked with it: what the caller must hold there.
FINDINGS = {
    "Outlier": "aggregates:read",
    "ConsistencyCheck": "aggregates:read",
    "ImplausibleIndicator": "indicators:read",
}


def walk(node: Any, caller: Caller, problems: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            walk(item, caller, problems)
        return
    if not isinstance(node, dict):
        return
    code = node.get("code")
    unit = node.get("unit")
    needs = FINDINGS.get(str(node.get("__typename")))
    if needs is not None and isinstance(unit, dict) and isinstance(unit.get("code"), str):
        # A village's findings are its reported values; a unit above's, its aggregates.
        for permission in (
            (needs, "values:read") if caller.tree.level[unit["code"]] == "village" else (needs,)
        ):
            if not caller.in_scope(unit["code"], permission):
                problems.append(f"a {node['__typename']} of {unit['code']} without {permission}")
    if node.get("__typename") == "Jurisdiction" and isinstance(code, str):
        if code not in caller.visible():
            problems.append(f"saw {code}")
        if node.get("values") is not None and not caller.in_scope(code, "values:read"):
            problems.append(f"read the values of {code}")
        if node.get("auditTrail") is not None and not caller.in_scope(code, "audit:read"):
            problems.append(f"read the audit trail of {code}")
        for key, value in node.items():
            if key.startswith("dc_") and isinstance(value, int):
                level = key[3:].lower()
                expected = sum(
                    1
                    for c in caller.visible()
                    if c != code
                    and caller.tree.is_within(c, code)
                    and level in {"all", caller.tree.level[c]}
                )
                if value != expected:
                    problems.append(f"{key} of {code}: {value}, expected {expected}")
        if node.get("targets") is not None and not caller.in_scope(code, "targets:read"):
            problems.append(f"read the targets of {code}")
        if node.get("assessment") is not None and not caller.in_scope(code, "assessments:read"):
            problems.append(f"read the assessment of {code}")
    walk_targets(node, caller, problems)
    walk_validation(node, caller, problems)
    walk_cycle(node, caller, problems)
    walk_feed(node, caller, problems)
    for value in node.values():
        walk(value, caller, problems)


def walk_targets(node: dict[str, Any], caller: Caller, problems: list[str]) -> None:
    """A ranking lists units whose assessments the caller may read; the audit of targets,
    changes of units whose audit or targets it may read."""
    kind = node.get("__typename")
    ranked = node.get("jurisdiction")
    ranked_code = ranked.get("code") if isinstance(ranked, dict) else None
    outside = isinstance(ranked_code, str) and not caller.in_scope(ranked_code, "assessments:read")
    if kind == "RankingEntry" and outside:
        problems.append(f"ranked {ranked_code} outside the assessments it may read")
    changed = node.get("jurisdictionCode")
    if kind == "TargetChangeEntry" and isinstance(changed, str):
        readable = caller.in_scope(changed, "audit:read") or caller.in_scope(
            changed, "targets:read"
        )
        if not readable:
            problems.append(f"read a change to the targets of {changed}")


# States of the monthly cycle, about their unit: what the caller must hold there.
CYCLE = {
    "Report": "aggregates:read",
    "ApprovalStatus": "aggregates:read",
    "ReportingStatus": "aggregates:read",
    "ReportingStatusRow": "aggregates:read",
    "FollowUpUnit": "aggregates:read",
    "HistoryItem": "audit:read",
}


def walk_cycle(node: dict[str, Any], caller: Caller, problems: list[str]) -> None:
    kind = str(node.get("__typename"))
    unit = node.get("unit")
    needs = CYCLE.get(kind)
    if needs is None or not isinstance(unit, dict) or not isinstance(unit.get("code"), str):
        return
    if not caller.in_scope(unit["code"], needs):
        problems.append(f"a {kind} of {unit['code']} without {needs}")


def walk_validation(node: dict[str, Any], caller: Caller, problems: list[str]) -> None:
    """Violations check raw values: listed, counted in a grid or warned of only where the
    caller may read (or, for a writer's warnings, write) values."""
    kind = node.get("__typename")
    unit = node.get("jurisdiction")
    if kind == "ValidationViolation" and isinstance(unit, dict):
        code = unit.get("code")
        if isinstance(code, str) and not caller.in_scope(code, "values:read"):
            problems.append(f"listed a violation of {code} without values:read")
    writable = isinstance(unit, str) and caller.in_scope(unit, "values:write")
    if kind == "ValidationWarning" and isinstance(unit, str) and not writable:
        problems.append(f"warned of a violation of {unit} without values:write")
    if kind == "RollupGrid" and node.get("violations") is not None:
        for code in node.get("codes") or []:
            if not caller.in_scope(code, "values:read"):
                problems.append(f"counted the violations of {code} without values:read")


def walk_feed(node: dict[str, Any], caller: Caller, problems: list[str]) -> None:
    """A moved aggregate of the change feed: its unit's aggregates (or indicators) must be
    the caller's to read, and a village's are its reported values."""
    if node.get("__typename") != "AggregateChange":
        return
    unit, kind = node.get("unit"), node.get("kind")
    if not isinstance(unit, str):
        return
    needs = ["indicators:read" if kind == "indicator" else "aggregates:read"]
    if caller.tree.level[unit] == "village":
        needs.append("values:read")
    for permission in needs:
        if not caller.in_scope(unit, permission):
            problems.append(
                f"the feed gave {kind} {node.get('code')} of {unit} without {permission}"
            )
