"""Mutations that change who may do what."""

from __future__ import annotations

from typing import Annotated

import strawberry

from authz.models import SubjectKind
from authz.role_definitions import RoleChange
from authz.roles import Action
from resolvers.access import mutations, roles
from schema.access.types import CreatedToken, Grant, Role, Subject, TokenInfo
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
        role: Annotated[str, strawberry.argument(description="A role's code (see `roles`).")],
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
        self, info: Info, *, subject: str, role: str, jurisdiction: str, reason: Reason
    ) -> Grant:
        view = await mutations.revoke_role(
            info.context, subject=subject, role=role, jurisdiction=jurisdiction, reason=reason
        )
        return Grant.from_view(view)

    @strawberry.mutation(
        description="A new token: for yourself (no subject), or for a subject whose every grant "
        "lies in units you administer. A token for someone else reaches only what yours "
        "reaches there, whatever they are granted later, and is short-lived: its holder "
        "replaces it with their own."
    )
    async def create_token(
        self,
        info: Info,
        *,
        subject: str | None = None,
        expires_in_days: Annotated[
            int | None,
            strawberry.argument(
                description="Your own: 1 to 366 days (90 when left out); someone else's: "
                "1 to 7 days (7 when left out)."
            ),
        ] = None,
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

    @strawberry.mutation(
        description="Define a role at the top of a tree you administer roles at: it may be "
        "granted in that subtree. You must hold there everything it permits."
    )
    async def define_role(
        self,
        info: Info,
        *,
        code: Annotated[str, strawberry.argument(description="Lowercase letters, digits, _.")],
        name_zh: str,
        name_en: str,
        actions: list[Action],
        jurisdiction: Annotated[str, strawberry.argument(description="A province's code.")],
        reason: Reason,
        includes: list[str] | None = None,
    ) -> Role:
        view = await roles.define_role(
            info.context,
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            actions=actions,
            includes=includes or [],
            jurisdiction=jurisdiction,
            reason=reason,
        )
        return Role.from_view(view)

    @strawberry.mutation(
        description="Change a role defined where you administer roles; what is left out stays. "
        "Every holder's access follows within a second."
    )
    async def update_role(
        self,
        info: Info,
        *,
        code: str,
        reason: Reason,
        name_zh: str | None = None,
        name_en: str | None = None,
        actions: list[Action] | None = None,
        includes: list[str] | None = None,
    ) -> Role:
        change = RoleChange(
            name_zh=name_zh,
            name_en=name_en,
            actions=None if actions is None else frozenset(actions),
            includes=None if includes is None else tuple(includes),
        )
        view = await roles.update_role(info.context, code=code, change=change, reason=reason)
        return Role.from_view(view)

    @strawberry.mutation(
        description="Retire a role nobody holds and no role includes; it can no longer be granted."
    )
    async def retire_role(self, info: Info, *, code: str, reason: Reason) -> Role:
        return Role.from_view(await roles.retire_role(info.context, code=code, reason=reason))
