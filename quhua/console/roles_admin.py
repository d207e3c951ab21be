"""The role editor's operations: the roles the viewer can grant or hold (retired ones too),
and defining, changing and retiring one, through the schema's mutations as the viewer
(which refuses a role that would permit more than its author holds)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from quhua.console.gateway import Gateway, Problem
from quhua.console.screen import field_of

ROLES = """
query ConsoleRoles {
  roles(retired: true) {
    code nameZh nameEn builtin actions includes effectiveActions createdAt retiredAt
    jurisdiction { code name }
  }
}
"""
ROLE_FIELDS = "code nameZh nameEn actions includes retiredAt"
ACTS = {
    "define": f"""mutation ConsoleDefineRole($code: String!, $nameZh: String!, $nameEn: String!,
    $actions: [Action!]!, $jurisdiction: String!, $reason: String!, $includes: [String!]) {{
  defineRole(code: $code, nameZh: $nameZh, nameEn: $nameEn, actions: $actions,
             jurisdiction: $jurisdiction, reason: $reason, includes: $includes) {{
    {ROLE_FIELDS} }} }}""",
    "update": f"""mutation ConsoleUpdateRole($code: String!, $nameZh: String, $nameEn: String,
    $actions: [Action!], $reason: String!, $includes: [String!]) {{
  updateRole(code: $code, nameZh: $nameZh, nameEn: $nameEn, actions: $actions,
             reason: $reason, includes: $includes) {{ {ROLE_FIELDS} }} }}""",
    "retire": f"""mutation ConsoleRetireRole($code: String!, $reason: String!) {{
  retireRole(code: $code, reason: $reason) {{ {ROLE_FIELDS} }} }}""",
}
# The schema's actions, in its order: the checkboxes of the role forms.
ACTIONS = (
    "READ_TREE",
    "READ_VALUES",
    "WRITE_VALUES",
    "READ_AGGREGATES",
    "READ_INDICATORS",
    "READ_TARGETS",
    "WRITE_TARGETS",
    "READ_ASSESSMENTS",
    "READ_AUDIT",
    "APPROVE",
    "MANAGE_GRANTS",
    "MANAGE_TOKENS",
    "WRITE_CATALOGUE",
    "MANAGE_ROLES",
)


@dataclass(slots=True)
class RolesBoard:
    roles: list[dict[str, Any]]
    problem: Problem | None
    done: str | None = None
    refusal: str | None = None


async def roles(gateway: Gateway) -> RolesBoard:
    answer = await gateway.run(ROLES)
    return RolesBoard(
        roles=answer.data.get("roles") or [],
        problem=answer.problems[0] if answer.problems else None,
    )


async def act_on_role(
    gateway: Gateway, form: FormData, t: Callable[..., str]
) -> tuple[str | None, str | None]:
    """The definition, change or retirement the form asks for: what was done, or why not."""
    act = field_of(form, "act")
    code = field_of(form, "code")
    if act not in ACTS:
        return None, t("bad_act", act=act)
    if not code or not field_of(form, "reason"):
        return None, t("fields_missing", fields=", ".join((t("role_code"), t("field_reason"))))
    variables: dict[str, Any] = {"code": code, "reason": field_of(form, "reason")}
    if act in ("define", "update"):
        actions = [a for a in form.getlist("actions") if isinstance(a, str) and a in ACTIONS]
        includes = [r for r in form.getlist("includes") if isinstance(r, str) and r]
        variables |= {
            "nameZh": field_of(form, "nameZh") or (None if act == "update" else ""),
            "nameEn": field_of(form, "nameEn") or (None if act == "update" else ""),
            "actions": actions,
            "includes": includes,
        }
    if act == "define":
        variables["jurisdiction"] = field_of(form, "jurisdiction")
    answer = await gateway.run(ACTS[act], **variables)
    if answer.problems:
        return None, answer.problems[0].message
    return f"{t('done_role_' + act)}: {code}", None
