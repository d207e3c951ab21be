"""What the isolation property compares before and after a request: the database's grants,
tokens, values, roles, targets and monthly cycle, and whether what changed was the
caller's to change."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, func, select

from authz.models import CasbinRule, Grant, RoleRow, Subject, Token, TokenReach
from authz.roles import Action, Role
from core.db.engine import sync_engine
from indicators.models import DataValue, ValueChange
from indicators.reporting.models import Approval, Reopening, Report, ReportingRule
from indicators.targets.models import AssessmentThresholds, Target, TargetChange, ThresholdChange
from tenancy.models import Jurisdiction
from tests.isolation_model import Caller, Rule, role_permissions

BUILT_IN = {role.value for role in Role}

Snapshot = tuple[
    set[tuple[str, str, str]],
    set[tuple[int, str, bool, bool]],
    set[tuple[str, int, int, float]],
    int,
    set[Rule],
    set[tuple[str, bool]],
    set[tuple[int, str, str]],
    # Targets (unit, year's first month, code, bound, value, weight, veto), thresholds
    # (unit, commended, passed), and how many changes of each the audit holds.
    set[tuple[str, int, str, str, float, float, bool]],
    set[tuple[str, float, float]],
    tuple[int, int],
    # The monthly cycle: reports (unit, month, state), active approvals (unit, month),
    # reopenings (unit, month), the trees' rules (unit, level, deadline day, approves).
    tuple[
        set[tuple[str, int, str]],
        set[tuple[str, int]],
        set[tuple[str, int]],
        set[tuple[str, str, int, bool]],
    ],
]


def snapshot(url: str) -> Snapshot:
    engine = sync_engine(url)
    with engine.connect() as connection:
        grants = {
            (name, role, code)
            for name, role, code in connection.execute(
                select(Subject.name, Grant.role, Jurisdiction.code)
                .join(Subject, Subject.id == Grant.subject_id)
                .join(Jurisdiction, Jurisdiction.id == Grant.jurisdiction_id)
            )
        }
        tokens = {
            (token_id, name, revoked is not None, limited)
            for token_id, name, revoked, limited in connection.execute(
                select(Token.id, Subject.name, Token.revoked_at, Token.limited).join(
                    Subject, Subject.id == Token.subject_id
                )
            )
        }
        rules: set[Rule] = {
            (v0, ptype, v1, v2, v3)
            for ptype, v0, v1, v2, v3 in connection.execute(
                select(CasbinRule.ptype, CasbinRule.v0, CasbinRule.v1, CasbinRule.v2, CasbinRule.v3)
            )
        }
        roles = {
            (code, retired is not None)
            for code, retired in connection.execute(select(RoleRow.code, RoleRow.retired_at))
        }
        reach = {
            (token_id, code, actions)
            for token_id, code, actions in connection.execute(
                select(TokenReach.token_id, Jurisdiction.code, TokenReach.actions).join(
                    Jurisdiction, Jurisdiction.id == TokenReach.jurisdiction_id
                )
            )
        }
        values = {
            (code, combo, month, value)
            for code, combo, month, value in connection.execute(
                select(
                    Jurisdiction.code, DataValue.combo_id, DataValue.month_index, DataValue.value
                ).join(Jurisdiction, Jurisdiction.id == DataValue.jurisdiction_id)
            )
        }
        audited = connection.execute(select(func.count()).select_from(ValueChange)).scalar_one()
        targets = {
            (code, month, indicator, str(bound), value, weight, veto)
            for code, month, indicator, bound, value, weight, veto in connection.execute(
                select(
                    Jurisdiction.code,
                    Target.month_index,
                    Target.indicator,
                    Target.bound,
                    Target.value,
                    Target.weight,
                    Target.veto,
                ).join(Jurisdiction, Jurisdiction.id == Target.jurisdiction_id)
            )
        }
        thresholds = {
            (code, commended, passed)
            for code, commended, passed in connection.execute(
                select(
                    Jurisdiction.code, AssessmentThresholds.commended, AssessmentThresholds.passed
                ).join(Jurisdiction, Jurisdiction.id == AssessmentThresholds.jurisdiction_id)
            )
        }
        target_audit = (
            connection.execute(select(func.count()).select_from(TargetChange)).scalar_one(),
            connection.execute(select(func.count()).select_from(ThresholdChange)).scalar_one(),
        )
        cycle = cycle_state(connection)
    engine.dispose()
    return (
        *(grants, tokens, values, audited, rules, roles, reach),
        *(targets, thresholds, target_audit, cycle),
    )


def cycle_state(connection: Connection) -> Any:
    unit = Jurisdiction.code
    reports = {
        (code, month, str(state))
        for code, month, state in connection.execute(
            select(unit, Report.month_index, Report.state).join(
                Jurisdiction, Jurisdiction.id == Report.unit_id
            )
        )
    }
    approvals = {
        (code, month)
        for code, month in connection.execute(
            select(unit, Approval.month_index)
            .join(Jurisdiction, Jurisdiction.id == Approval.unit_id)
            .where(Approval.withdrawn_event_id.is_(None))
        )
    }
    reopenings = {
        (code, month)
        for code, month in connection.execute(
            select(unit, Reopening.month_index).join(
                Jurisdiction, Jurisdiction.id == Reopening.unit_id
            )
        )
    }
    rules = {
        (code, str(level), day, approves)
        for code, level, day, approves in connection.execute(
            select(
                unit, ReportingRule.level, ReportingRule.deadline_day, ReportingRule.approves
            ).join(Jurisdiction, Jurisdiction.id == ReportingRule.unit_id)
        )
    }
    return reports, approvals, reopenings, rules


def permissions_in(state: Snapshot) -> dict[str, set[str]]:
    return {code: role_permissions(state[4], code) for code, _ in state[5]}


WRITES = {"submitValues", "deleteValues"}


def read_back(
    documents: list[str], bodies: list[dict[str, Any]], before: Snapshot, after: Snapshot
) -> list[str]:
    """What the answers say was written against what the database holds afterwards.

    A request with any error or refused write keeps nothing; otherwise every change a write
    reported is in the audit (so it was committed, and not undone by a later operation).
    """
    refused = any(
        isinstance(answer, dict) and answer.get("ok") is False
        for body in bodies
        for answer in (body.get("data") or {}).values()
    )
    if refused or any(body.get("errors") for body in bodies):
        return [] if before == after else ["a request that failed kept some of its writes"]
    reported, complete = 0, True
    for document, body in zip(documents, bodies, strict=True):
        for alias, field_name in re.findall(r"\b(r\d+): (\w+)", document):
            answer = (body.get("data") or {}).get(alias)
            if field_name in WRITES and isinstance(answer, dict):
                if "changed" in answer:
                    reported += answer["changed"]
                else:
                    complete = False
    grown = after[3] - before[3]
    if grown < reported or (complete and grown != reported):
        return [f"the answers report {reported} changes, the audit holds {grown} more"]
    return []


def cycle_changes(caller: Caller, before: Snapshot, after: Snapshot) -> list[str]:
    """Reports change where the caller reports, or from a level above (returned,
    reopened); approvals where it approves; reopenings from above; rules never."""
    problems: list[str] = []
    (reports, approvals, reopenings, rules), now = before[10], after[10]
    for code, month, state in reports ^ now[0]:
        if not (
            caller.in_scope(code, "values:write") or caller.strictly_below(code, "approvals:write")
        ):
            problems.append(f"the report of {code} for {month} became {state} from outside")
    for code, month in approvals ^ now[1]:
        if not caller.in_scope(code, "approvals:write"):
            problems.append(f"the approval of {code} for {month} changed from outside")
    for code, month in now[2] - reopenings:
        if not caller.strictly_below(code, "approvals:write"):
            problems.append(f"{code} {month} reopened by a caller not above it")
    if rules != now[3]:
        problems.append("a tree's reporting rules changed through the API")
    return problems


def policy_changes(caller: Caller, name: str, before: Snapshot, after: Snapshot) -> list[str]:
    """Grants, roles, tokens and values changed only where the caller may change them, and
    never to hand out more than the caller holds."""
    problems: list[str] = []
    was, now = permissions_in(before), permissions_in(after)
    for who, role, code in before[0] ^ after[0]:
        if not caller.in_scope(code, "grants:manage"):
            problems.append(f"grant of {role} at {code} to {who} changed from outside")
        elif not (was.get(role, set()) | now.get(role, set())) <= caller.holds_at(code):
            problems.append(f"{role} at {code} changed without holding its permissions")
    for role in set(was) | set(now):
        changed = was.get(role) != now.get(role) or (
            {r for r in before[5] if r[0] == role} != {r for r in after[5] if r[0] == role}
        )
        if not changed:
            continue
        if role in BUILT_IN:
            problems.append(f"built-in role {role} changed")
        elif not caller.in_scope("64", "roles:manage"):
            problems.append(f"role {role} changed by a caller who does not manage roles")
        elif not now.get(role, set()) <= caller.holds_at("64"):
            problems.append(f"role {role} now permits more than its author holds")
    for code, _, _, _ in before[2] ^ after[2]:
        if not caller.in_scope(code, "values:write"):
            problems.append(f"a value of {code} changed from outside")
    new_ids = {row[0] for row in after[1]} - {row[0] for row in before[1]}
    for token_id, who, _, limited in after[1] - before[1]:
        if who == name:
            continue
        if token_id in new_ids and not limited:
            problems.append(f"a token for {who} was issued without a limit")
        held = [(role, code) for w, role, code in before[0] if w == who]
        if not held or not all(
            caller.in_scope(code, "tokens:manage") and was[role] <= caller.holds_at(code)
            for role, code in held
        ):
            problems.append(f"a token of {who} changed from outside")
    for code, *_ in before[7] ^ after[7]:
        if not caller.strictly_below(code, "targets:write"):
            problems.append(f"a target of {code} changed by a caller who may not set it")
    for code, *_ in before[8] ^ after[8]:
        if not caller.in_scope(code, "targets:write"):
            problems.append(f"the thresholds below {code} changed from outside")
    for kept, audit, what in ((7, 0, "targets"), (8, 1, "thresholds")):
        if (before[kept] != after[kept]) != (before[9][audit] != after[9][audit]):
            problems.append(f"{what} and their audit did not change together")
    for token_id, code, actions in after[6] - before[6]:
        labels = {Action[action].label for action in actions.split()}
        if token_id in new_ids and not (
            caller.in_scope(code, "tokens:manage") and labels <= caller.holds_at(code)
        ):
            problems.append(f"token {token_id} reaches {sorted(labels)} at {code}")
    return problems
