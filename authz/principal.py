"""Who is acting: the caller of a request, or the operator at the command line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from authz.enforcer import RolePolicy
from authz.models import AuditSource, SubjectKind
from authz.roles import Action
from tenancy.scope import Scope, ScopeRoot


@dataclass(frozen=True, slots=True)
class HeldGrant:
    role: str
    jurisdiction_id: int
    code: str
    path: str
    granted_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Reach:
    """A subtree a limited token may reach, and what it may do there."""

    jurisdiction_id: int
    code: str
    path: str
    actions: frozenset[Action]

    @property
    def root(self) -> ScopeRoot:
        return ScopeRoot(self.jurisdiction_id, self.code, self.path)


def narrower(roots: Iterable[ScopeRoot], limits: Iterable[ScopeRoot]) -> list[ScopeRoot]:
    """Where two sets of subtrees overlap: of two nested roots, the inner one."""
    kept: list[ScopeRoot] = []
    limits = list(limits)
    for root in roots:
        for limit in limits:
            if root.path.startswith(limit.path):
                kept.append(root)
            elif limit.path.startswith(root.path):
                kept.append(limit)
    return kept


@dataclass(slots=True)
class Principal:
    """An authenticated subject, with its grants and the role policy it was checked against.

    A limited token (`reach` not None) permits an action at a unit only where the subject's
    grants permit it and a reach row covering the unit lists it.
    """

    subject_id: int
    name: str
    kind: SubjectKind
    # None for a caller signed in with the identity provider's JWT (authz.oidc), which has
    # no Quhua token; then token_expires_at is the JWT's expiry.
    token_id: int | None
    token_expires_at: dt.datetime | None
    grants: tuple[HeldGrant, ...]
    policy: RolePolicy
    reach: tuple[Reach, ...] | None = None
    # Who issued the token, when not the subject itself.
    issued_by: str | None = None
    # Scopes computed for this principal, by action; they live as long as the principal.
    scopes: dict[Action, Scope] = field(default_factory=dict)

    def grant_actions(self, grant: HeldGrant) -> frozenset[Action]:
        """What the grant lets this token do at the grant's own unit."""
        held = self.policy.permissions(grant.role, grant.code)
        if self.reach is None:
            return held
        return held & self._reach_at(grant.path)

    def _reach_at(self, path: str) -> frozenset[Action]:
        assert self.reach is not None
        return frozenset().union(*(r.actions for r in self.reach if path.startswith(r.path)))

    def permissions_at(self, path: str, code: str) -> frozenset[Action]:
        """Every action the principal's grants (within the token's reach) permit at the unit."""
        held: set[Action] = set()
        for grant in self.grants:
            if path.startswith(grant.path):
                held |= self.policy.permissions(grant.role, grant.code)
        if self.reach is None:
            return frozenset(held)
        return frozenset(held) & self._reach_at(path)

    def roots_for(self, action: Action) -> list[ScopeRoot]:
        """The subtrees where this token may do the action."""
        roots = [
            ScopeRoot(grant.jurisdiction_id, grant.code, grant.path)
            for grant in self.grants
            if self.policy.allows(grant.role, grant.code, action)
        ]
        if self.reach is None:
            return roots
        return narrower(roots, [r.root for r in self.reach if action in r.actions])

    def reach_within(self, roots: Iterable[ScopeRoot]) -> tuple[Reach, ...]:
        """What this token may do inside the given subtrees, for a token it issues."""
        limits = list(roots)
        pieces: dict[ScopeRoot, set[Action]] = {}
        for action in Action:
            for root in narrower(self.roots_for(action), limits):
                pieces.setdefault(root, set()).add(action)
        return tuple(
            Reach(root.jurisdiction_id, root.code, root.path, frozenset(actions))
            for root, actions in sorted(pieces.items(), key=lambda item: item[0].path)
        )


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a change is attributed to in the audit: a principal, the CLI operator, or the
    system (the demo, start-up work), with where the act came in."""

    label: str
    principal: Principal | None
    source: AuditSource = AuditSource.API

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(label=principal.name, principal=principal, source=AuditSource.API)

    @property
    def subject_id(self) -> int | None:
        return self.principal.subject_id if self.principal else None

    @property
    def token_id(self) -> int | None:
        return self.principal.token_id if self.principal else None

    @property
    def issuer(self) -> str | None:
        """Who issued the token the actor used, when that was someone else."""
        return self.principal.issued_by if self.principal else None
