"""Subjects, grants, tokens and the policy audit, as administrators see them."""

from __future__ import annotations

import datetime as dt

import strawberry

from authz import models
from authz.models import PolicyAuditAction, SubjectKind
from authz.principal import HeldGrant, Principal
from authz.roles import Role
from resolvers.access.queries import AuditView, GrantView
from resolvers.jurisdictions.queries import visible_unit
from schema.context import Info
from schema.jurisdictions.types import Jurisdiction

strawberry.enum(Role, description="What a grant lets its subject do in the unit's subtree.")
strawberry.enum(SubjectKind, description="A person, or a system calling the API.")
strawberry.enum(PolicyAuditAction, description="A change to who may do what.")


@strawberry.type(description="Someone or something that calls the API with a token.")
class Subject:
    name: str
    kind: SubjectKind

    @classmethod
    def from_model(cls, subject: models.Subject) -> Subject:
        return cls(name=subject.name, kind=subject.kind)


@strawberry.type(description="A role held at a jurisdiction, covering its whole subtree.")
class Grant:
    subject: Subject
    role: Role
    jurisdiction: Jurisdiction
    granted_at: dt.datetime

    @classmethod
    def from_view(cls, view: GrantView) -> Grant:
        return cls(
            subject=Subject.from_model(view.subject),
            role=view.grant.role,
            jurisdiction=Jurisdiction.from_model(view.unit),
            granted_at=view.grant.granted_at,
        )


@strawberry.type(description="One of the caller's own grants.")
class HeldRole:
    role: Role
    granted_at: dt.datetime
    held: strawberry.Private[HeldGrant]

    @strawberry.field
    async def jurisdiction(self, info: Info) -> Jurisdiction:
        unit = await visible_unit(info.context, self.held.code, argument="jurisdiction")
        assert unit is not None
        return Jurisdiction.from_model(unit)


@strawberry.type(description="The caller: who they are and what they hold.")
class Me:
    subject: Subject
    grants: list[HeldRole]
    token_expires_at: dt.datetime | None

    @classmethod
    def from_principal(cls, principal: Principal) -> Me:
        return cls(
            subject=Subject(name=principal.name, kind=principal.kind),
            grants=[
                HeldRole(role=grant.role, granted_at=grant.granted_at, held=grant)
                for grant in principal.grants
            ],
            token_expires_at=principal.token_expires_at,
        )


@strawberry.type(description="A bearer token, without its secret.")
class TokenInfo:
    id: strawberry.ID
    prefix: str = strawberry.field(description="The token's first characters.")
    label: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None = strawberry.field(
        description="When the token was last used, to within a minute."
    )
    revoked_at: dt.datetime | None

    @classmethod
    def from_model(cls, token: models.Token) -> TokenInfo:
        return cls(
            id=strawberry.ID(str(token.id)),
            prefix=token.prefix,
            label=token.label,
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


@strawberry.type(description="A new token: the secret is shown here once and never again.")
class CreatedToken:
    token: str
    subject: Subject
    info: TokenInfo


@strawberry.type(description="One change to who may do what.")
class PolicyAuditEntry:
    id: strawberry.ID
    at: dt.datetime
    actor: str = strawberry.field(description="Who made the change (a subject, or cli:USER).")
    action: PolicyAuditAction
    subject: Subject
    role: Role | None
    jurisdiction: Jurisdiction
    reason: str

    @classmethod
    def from_view(cls, view: AuditView) -> PolicyAuditEntry:
        return cls(
            id=strawberry.ID(str(view.entry.id)),
            at=view.entry.at,
            actor=view.entry.actor,
            action=view.entry.action,
            subject=Subject.from_model(view.subject),
            role=view.entry.role,
            jurisdiction=Jurisdiction.from_model(view.unit),
            reason=view.entry.reason,
        )
