"""Arguments every export shares: its root unit and a level."""

from __future__ import annotations

from core.errors import BadUserInput, NotFound, shown
from resolvers.context import Context
from resolvers.jurisdictions.queries import visible_unit
from tenancy.levels import Level
from tenancy.models import Jurisdiction


def level_argument(text: str) -> Level:
    """`province` … `village` (any case)."""
    try:
        return Level(text.strip().lower())
    except ValueError:
        levels = ", ".join(level.value for level in Level)
        raise BadUserInput(f"level: {shown(text)} is not a level (one of: {levels})") from None


async def export_root(context: Context, code: str) -> Jurisdiction:
    """The unit an export is asked under: FORBIDDEN outside the caller's tree, NOT_FOUND
    when no unit has the code (as GraphQL answers both)."""
    root = await visible_unit(context, code, argument="under")
    if root is None:
        raise NotFound(f"under: no jurisdiction has code {shown(code)}")
    return root
