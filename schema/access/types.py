"""Subjects, grants, tokens and the policy audit, as administrators see them."""

from __future__ import annotations

import datetime as dt

import strawberry

from authz import models
from authz.models import AuditSource, PolicyAuditAction, SubjectKind
from authz.principal import HeldGrant, Principal
from authz.role_definitions import RoleView
from authz.roles import Action
from resolvers.access.queries import AuditView, GrantView
from resolvers.jurisdictions.queries import visible_unit
from schema.context import Info
from schema.jurisdictions.types import Jurisdiction

strawberry.enum(Action, description="Something a role may let its holders do.")
strawberry.enum(SubjectKind, description="A person, or a system calling the API.")
strawberry.enum(PolicyAuditAction, description="A change to who may do what.")
strawberry.enum(AuditSource, description="Where an act came in.")


def _actions(actions: frozenset[Action]) -> list[Action]:
    return sorted(actions, key=lambda action: action.name)


@strawberry.type(description="Someone or something that calls the API with a token.")
class Subject:
    name: str
    kind: SubjectKind

    @classmethod
    def from_model(cls, subject: models.Subject) -> Subject:
        return cls(name=subject.name, kind=subject.kind)


@strawberry.type(description="What holders of a role may do in the subtree of each grant.")
class Role:
    code: str
    name_zh: str
    name_en: str
    builtin: bool = strawberry.field(description="Built-in roles never change.")
    jurisdiction: Jurisdiction | None = strawberry.field(
        description="Where it was defined: it is granted only in this unit's subtree (null: "
        "defined by the operator, granted anywhere)."
    )
    actions: list[Action] = strawberry.field(description="What its own rules permit.")
    includes: list[str] = strawberry.field(description="The codes of the roles it includes.")
    effective_actions: list[Action] = strawberry.field(
        description="What its holders may do: its actions and every included role's."
    )
    created_at: dt.datetime
    retired_at: dt.datetime | None

    @classmethod
    def from_view(cls, view: RoleView) -> Role:
        return cls(
            code=view.role.code,
            name_zh=view.role.name_zh,
            name_en=view.role.name_en,
            builtin=view.role.builtin,
            jurisdiction=Jurisdiction.from_model(view.unit) if view.unit else None,
            actions=_actions(view.actions),
            includes=list(view.includes),
            effective_actions=_actions(view.effective),
            created_at=view.role.created_at,
            retired_at=view.role.retired_at,
        )


@strawberry.type(description="A role held at a jurisdiction, covering its whole subtree.")
class Grant:
    subject: Subject
    role: str = strawberry.field(description="The role's code (see `roles`).")
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
    role: str = strawberry.field(description="The role's code (see `roles`).")
    granted_at: dt.datetime
    actions: list[Action] = strawberry.field(
        description="What this grant lets the caller's token do at the unit: the role's "
        "actions, within what the token reaches. A front end hides what is not here."
    )
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
    token_issued_by: str | None = strawberry.field(
        description="Who issued the caller's token, when not the caller: such a token is "
        "short-lived and limited; replace it with your own (createToken without subject)."
    )
    token_limited: bool = strawberry.field(
        description="Whether the token reaches less than the caller's grants: only what its "
        "issuer could reach when it was issued."
    )

    @classmethod
    def from_principal(cls, principal: Principal) -> Me:
        return cls(
            subject=Subject(name=principal.name, kind=principal.kind),
            grants=[
                HeldRole(
                    role=grant.role,
                    granted_at=grant.granted_at,
                    actions=_actions(principal.grant_actions(grant)),
                    held=grant,
                )
                for grant in principal.grants
            ],
            token_expires_at=principal.token_expires_at,
            token_issued_by=principal.issued_by,
            token_limited=principal.reach is not None,
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
    issued_by: str | None = strawberry.field(
        description="Who issued it: its subject, an administrator, or cli:USER."
    )
    limited: bool = strawberry.field(
        description="Whether it reaches only what its issuer could when it was issued."
    )

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
            issued_by=token.issued_by,
            limited=token.limited,
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
    issuer: str | None = strawberry.field(
        description="Who issued the token the actor used, when that was someone else."
    )
    source: AuditSource
    actor_token: strawberry.ID | None = strawberry.field(
        description="The id of the token the actor used."
    )
    action: PolicyAuditAction
    subject: Subject | None = strawberry.field(
        description="Whose grant or token changed (null for a change to a role)."
    )
    role: str | None
    jurisdiction: Jurisdiction | None = strawberry.field(
        description="Where the change applies (null: a role the operator defined for every tree)."
    )
    reason: str
    before: str | None = strawberry.field(description="A role as it was (JSON).")
    after: str | None = strawberry.field(description="A role as it became (JSON).")

    @classmethod
    def from_view(cls, view: AuditView) -> PolicyAuditEntry:
        return cls(
            id=strawberry.ID(str(view.entry.id)),
            at=view.entry.at,
            actor=view.entry.actor,
            issuer=view.entry.issuer,
            source=view.entry.source,
            actor_token=(
                strawberry.ID(str(view.entry.actor_token_id))
                if view.entry.actor_token_id is not None
                else None
            ),
            action=view.entry.action,
            subject=Subject.from_model(view.subject) if view.subject else None,
            role=view.entry.role,
            jurisdiction=Jurisdiction.from_model(view.unit) if view.unit else None,
            reason=view.entry.reason,
            before=view.entry.before,
            after=view.entry.after,
        )
