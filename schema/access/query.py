"""Root fields about who may do what."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.access import queries, roles
from schema.access.types import Grant, Me, PolicyAuditEntry, Role, TokenInfo
from schema.context import Info
from schema.pagination import Connection, to_connection

Under = Annotated[
    str | None, strawberry.argument(description="Only this unit and those below it (a code).")
]


@strawberry.type
class AccessQuery:
    @strawberry.field(description="The caller: their subject and grants.")
    def me(self, info: Info) -> Me:
        return Me.from_principal(queries.me(info.context))

    @strawberry.field(
        description="The roles you can grant or hold: built-in ones, the operator's, and those "
        "defined above or inside your subtrees."
    )
    async def roles(self, info: Info, *, retired: bool = False) -> list[Role]:
        return [Role.from_view(view) for view in await roles.roles(info.context, retired=retired)]

    @strawberry.field(description="Grants at units you administer, oldest first.")
    async def grants(
        self,
        info: Info,
        *,
        under: Under = None,
        subject: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Grant]:
        page = await queries.grants(
            info.context, under=under, subject=subject, first=first, after=after
        )
        return to_connection(page, Grant.from_view)

    @strawberry.field(
        description="Changes to grants, tokens and roles at units you administer, newest first."
    )
    async def policy_audit(
        self, info: Info, *, under: Under = None, first: int | None = None, after: str | None = None
    ) -> Connection[PolicyAuditEntry]:
        page = await queries.policy_audit(info.context, under=under, first=first, after=after)
        return to_connection(page, PolicyAuditEntry.from_view)

    @strawberry.field(
        description="A subject's tokens: your own, or those of someone all of whose grants lie "
        "in units you administer."
    )
    async def tokens(self, info: Info, subject: str) -> list[TokenInfo]:
        _, found = await queries.tokens(info.context, subject)
        return [TokenInfo.from_model(token) for token in found]
