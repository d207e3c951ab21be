"""Submitting and deleting values through the API."""

from __future__ import annotations

from authz.roles import Action
from indicators.submission import Outcome, ValueRow, write_values
from resolvers.authors import author_of
from resolvers.context import Context

API_SOURCE = "api"


async def submit(context: Context, rows: list[ValueRow], reason: str) -> Outcome:
    """Store every row or none; the outcome lists each bad row by its index."""
    scope = context.scope(Action.WRITE_VALUES)
    outcome = await write_values(
        context.session,
        scope=scope,
        index=await context.catalogue(),
        rows=rows,
        author=author_of(context),
        reason=reason,
        source=API_SOURCE,
    )
    if not outcome.ok:
        # Nothing of this request may be kept: the boundary rolls back its other writes.
        context.session.refused = True
    return outcome


async def delete(context: Context, rows: list[ValueRow], reason: str) -> Outcome:
    """Delete every stored value named, or none; each deletion is audited."""
    return await submit(context, rows, reason)
