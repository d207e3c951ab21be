"""Root fields for the division tree."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.jurisdictions import queries
from schema.context import Info
from schema.jurisdictions.types import Jurisdiction
from schema.levels import Level
from schema.pagination import Connection, to_connection


@strawberry.type
class JurisdictionQuery:
    @strawberry.field(description="The unit with this code, current or retired; null if unknown.")
    async def jurisdiction(self, info: Info, code: str) -> Jurisdiction | None:
        found = await queries.jurisdiction(info.context, code)
        return Jurisdiction.from_model(found) if found else None

    @strawberry.field(description="Current units, in code order, filtered and paginated.")
    async def jurisdictions(
        self,
        info: Info,
        *,
        level: Level | None = None,
        under: Annotated[
            str | None,
            strawberry.argument(description="Only this unit and those below it (a code)."),
        ] = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="Part of a name (Chinese), or a code prefix."),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size: 0 to 1000, default 50.")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last edge already seen.")
        ] = None,
    ) -> Connection[Jurisdiction]:
        page = await queries.jurisdictions(
            info.context, level=level, under=under, search=search, first=first, after=after
        )
        return to_connection(page, Jurisdiction.from_model)
