"""Reading the catalogue: what units report and what the platform computes from it."""

from __future__ import annotations

from authz.roles import Action
from indicators import repository
from indicators.repository import CatalogueView
from resolvers.context import Context


async def catalogue(context: Context) -> tuple[CatalogueView, int]:
    """The catalogue, and the month its statistical year starts in."""
    # The catalogue belongs to no jurisdiction; reading it needs a caller who may read
    # indicators somewhere.
    context.scope(Action.READ_INDICATORS)
    index = await context.catalogue()
    return await repository.catalogue(context.session), index.statistical_year_starts
