"""Reading the jurisdiction tree: parse arguments, ask the repository or a loader, return."""

from __future__ import annotations

from core.errors import BadUserInput, Forbidden, NotFound, shown
from resolvers.context import Context
from resolvers.pagination import Page, decode_path_cursor, make_page, page_size, path_cursor
from tenancy import repository
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import path_codes


def _cursor(unit: Jurisdiction) -> str:
    return path_cursor(unit.path)


async def visible_unit(context: Context, code: str, *, argument: str) -> Jurisdiction | None:
    """The unit with this code if the caller may see it; None if no unit has it."""
    code = code.strip()
    unit = await context.tree.by_code.load(code)
    if unit is None and await repository.code_exists(context.session, code):
        raise Forbidden(f"{argument}: jurisdiction {code} is outside your access")
    return unit


async def jurisdiction(context: Context, code: str) -> Jurisdiction | None:
    """The unit with this code (current or retired), or None."""
    return await visible_unit(context, code, argument="code")


async def jurisdictions(
    context: Context,
    *,
    level: Level | None,
    under: str | None,
    search: str | None,
    first: int | None,
    after: str | None,
) -> Page[Jurisdiction]:
    """Current units the caller may see, filtered, in code order."""
    scope = context.tree.scope
    limit = page_size(first)
    after_path = decode_path_cursor(after)
    under_path = None
    if under is not None:
        root = await visible_unit(context, under, argument="under")
        if root is None:
            raise NotFound(f"under: no jurisdiction has code {shown(under)}")
        under_path = root.path
    text = (search or "").strip()
    if len(text) > repository.SEARCH_MAX_LENGTH:
        raise BadUserInput(f"search: at most {repository.SEARCH_MAX_LENGTH} characters")
    tree_filter = repository.TreeFilter(level=level, under_path=under_path, search=text or None)
    rows = await repository.page(
        context.session, scope, tree_filter=tree_filter, after_path=after_path, limit=limit + 1
    )

    async def total() -> int:
        return await repository.count(context.session, scope, tree_filter=tree_filter)

    return make_page(rows, limit=limit, cursor_of=_cursor, after=after_path, total=total)


async def parent(context: Context, unit: Jurisdiction) -> Jurisdiction | None:
    if unit.parent_id is None:
        return None
    return await context.tree.by_id.load(unit.parent_id)


async def ancestors(context: Context, unit: Jurisdiction) -> list[Jurisdiction]:
    """The unit's ancestors, root first."""
    codes = path_codes(unit.path)[:-1]
    found = await context.tree.by_code.load_many(codes)
    return [ancestor for ancestor in found if ancestor is not None]


async def children(
    context: Context, unit: Jurisdiction, *, first: int | None, after: str | None
) -> Page[Jurisdiction]:
    """The unit's current children that the caller may see, in code order."""
    limit = page_size(first)
    after_path = decode_path_cursor(after)
    rows = await context.tree.children.load((unit.id, after_path, limit + 1))

    async def total() -> int:
        return await context.tree.child_count.load(unit.id)

    return make_page(rows, limit=limit, cursor_of=_cursor, after=after_path, total=total)


async def descendant_count(context: Context, unit: Jurisdiction, level: Level | None) -> int:
    """How many current units the caller may see lie below the unit."""
    if level is not None and level.depth <= unit.level.depth:
        return 0
    return await context.tree.descendant_count.load((unit.id, level))
