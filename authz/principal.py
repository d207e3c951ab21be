"""Who is acting: the caller of a request, or the operator at the command line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from authz.enforcer import RolePolicy
from authz.models import SubjectKind
from authz.roles import Action, Role
from tenancy.scope import Scope


@dataclass(frozen=True, slots=True)
class HeldGrant:
    role: Role
    jurisdiction_id: int
    code: str
    path: str
    granted_at: dt.datetime


@dataclass(slots=True)
class Principal:
    """An authenticated subject, with its grants and the role policy it was checked against."""

    subject_id: int
    name: str
    kind: SubjectKind
    token_id: int
    token_expires_at: dt.datetime | None
    grants: tuple[HeldGrant, ...]
    policy: RolePolicy
    # Scopes computed for this principal, by action; they live as long as the principal.
    scopes: dict[Action, Scope] = field(default_factory=dict)

    def permissions_at(self, path: str, code: str) -> frozenset[Action]:
        """Every action the principal's grants permit at the unit with this path."""
        held: set[Action] = set()
        for grant in self.grants:
            if path.startswith(grant.path):
                held |= self.policy.permissions(grant.role, grant.code)
        return frozenset(held)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a change is attributed to in the audit: a principal, or the CLI operator."""

    label: str
    principal: Principal | None

    @property
    def subject_id(self) -> int | None:
        return self.principal.subject_id if self.principal else None
