"""Root field for the catalogue."""

from __future__ import annotations

import strawberry

from resolvers.catalogue import queries
from schema.catalogue.types import Catalogue
from schema.context import Info


@strawberry.type
class CatalogueQuery:
    @strawberry.field(description="Every category, data element and indicator.")
    async def catalogue(self, info: Info) -> Catalogue:
        view, starts = await queries.catalogue(info.context)
        return Catalogue.from_view(view, statistical_year_starts=starts)
