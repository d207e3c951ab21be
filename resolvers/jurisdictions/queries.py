"""Reading the jurisdiction tree: parse arguments, ask the repository or a loader, return."""

from __future__ import annotations

from quhua.errors import BadUserInput, NotFound
from resolvers.context import Context
from resolvers.pagination import Page, decode_cursor, make_page, page_size
from tenancy import repository
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import path_codes


def _path(unit: Jurisdiction) -> str:
    return unit.path


async def jurisdiction(context: Context, code: str) -> Jurisdiction | None:
    """The unit with this code (current or retired), or None."""
    return await context.jurisdictions.by_code.load(code.strip())


async def jurisdictions(
    context: Context,
    *,
    level: Level | None,
    under: str | None,
    search: str | None,
    first: int | None,
    after: str | None,
) -> Page[Jurisdiction]:
    """Current units, filtered, in code order."""
    limit = page_size(first)
    after_path = decode_cursor(after)
    under_path = None
    if under is not None:
        root = await context.jurisdictions.by_code.load(under.strip())
        if root is None:
            raise NotFound(f"under: no jurisdiction has code {under!r}")
        under_path = root.path
    text = (search or "").strip()
    if len(text) > repository.SEARCH_MAX_LENGTH:
        raise BadUserInput(f"search: at most {repository.SEARCH_MAX_LENGTH} characters")
    tree_filter = repository.TreeFilter(level=level, under_path=under_path, search=text or None)
    rows = await repository.page(
        context.session, tree_filter=tree_filter, after_path=after_path, limit=limit + 1
    )

    async def total() -> int:
        return await repository.count(context.session, tree_filter=tree_filter)

    return make_page(rows, limit=limit, path_of=_path, after=after_path, total=total)


async def parent(context: Context, unit: Jurisdiction) -> Jurisdiction | None:
    if unit.parent_id is None:
        return None
    return await context.jurisdictions.by_id.load(unit.parent_id)


async def ancestors(context: Context, unit: Jurisdiction) -> list[Jurisdiction]:
    """The unit's ancestors, root first."""
    codes = path_codes(unit.path)[:-1]
    found = await context.jurisdictions.by_code.load_many(codes)
    return [ancestor for ancestor in found if ancestor is not None]


async def children(
    context: Context, unit: Jurisdiction, *, first: int | None, after: str | None
) -> Page[Jurisdiction]:
    """The unit's current children, in code order."""
    limit = page_size(first)
    after_path = decode_cursor(after)
    rows = await context.jurisdictions.children.load((unit.id, after_path, limit + 1))

    async def total() -> int:
        return await context.jurisdictions.child_count.load(unit.id)

    return make_page(rows, limit=limit, path_of=_path, after=after_path, total=total)


async def descendant_count(context: Context, unit: Jurisdiction, level: Level | None) -> int:
    """How many current units lie below the unit, at one level or at all."""
    if level is not None and level.depth <= unit.level.depth:
        return 0
    return await context.jurisdictions.descendant_count.load((unit.id, level))
