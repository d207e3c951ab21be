"""Mutations that change who may do what."""

from __future__ import annotations

from typing import Annotated

import strawberry

from authz.models import SubjectKind
from authz.roles import Role
from resolvers.access import mutations
from schema.access.types import CreatedToken, Grant, Subject, TokenInfo
from schema.context import Info

Reason = Annotated[str, strawberry.argument(description="Why: kept in the policy audit.")]


@strawberry.type
class AccessMutation:
    @strawberry.mutation(
        description="Give a subject (created if new) a role at a unit you administer; you must "
        "hold every permission of that role there yourself."
    )
    async def grant_role(
        self,
        info: Info,
        *,
        subject: str,
        role: Role,
        jurisdiction: str,
        reason: Reason,
        kind: SubjectKind = SubjectKind.PERSON,
    ) -> Grant:
        view = await mutations.grant_role(
            info.context,
            subject=subject,
            role=role,
            jurisdiction=jurisdiction,
            reason=reason,
            kind=kind,
        )
        return Grant.from_view(view)

    @strawberry.mutation(
        description="Take a role back; refused when it would leave a unit, and every unit above "
        "it, without an administrator."
    )
    async def revoke_role(
        self, info: Info, *, subject: str, role: Role, jurisdiction: str, reason: Reason
    ) -> Grant:
        view = await mutations.revoke_role(
            info.context, subject=subject, role=role, jurisdiction=jurisdiction, reason=reason
        )
        return Grant.from_view(view)

    @strawberry.mutation(
        description="A new token for a subject whose every grant lies in units you administer."
    )
    async def create_token(
        self,
        info: Info,
        *,
        subject: str,
        expires_in_days: Annotated[int, strawberry.argument(description="1 to 366 days.")] = 90,
        label: str = "",
    ) -> CreatedToken:
        issued = await mutations.create_token(
            info.context, subject=subject, expires_in_days=expires_in_days, label=label
        )
        return CreatedToken(
            token=issued.secret,
            subject=Subject.from_model(issued.subject),
            info=TokenInfo.from_model(issued.token),
        )

    @strawberry.mutation(description="Revoke a token; every server refuses it within a second.")
    async def revoke_token(self, info: Info, *, id: strawberry.ID, reason: Reason) -> TokenInfo:
        token = await mutations.revoke_token(info.context, token_id=str(id), reason=reason)
        return TokenInfo.from_model(token)
