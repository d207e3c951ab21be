"""Reading the jurisdiction tree within a caller's scope: set-based, on indexed columns."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import aliased

from core.db.session import RequestSession
from core.db.statements import point_read
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import strictly_within, within
from tenancy.scope import Scope, unscoped

SEARCH_MAX_LENGTH = 50


@dataclass(frozen=True, slots=True)
class TreeFilter:
    """Which units a listing shows: a level, a subtree, a search text; current ones, or
    with present_on those not retired by that day."""

    level: Level | None = None
    under_path: str | None = None
    search: str | None = None
    present_on: dt.date | None = None

    def predicates(self) -> list[ColumnElement[bool]]:
        current = Jurisdiction.valid_to.is_(None)
        clauses: list[ColumnElement[bool]] = [
            current
            if self.present_on is None
            else or_(current, Jurisdiction.valid_to > self.present_on)
        ]
        if self.level is not None:
            clauses.append(Jurisdiction.level == self.level)
        if self.under_path is not None:
            clauses.append(within(Jurisdiction.path, self.under_path))
        if self.search:
            clauses.append(_search(self.search))
        return clauses


def _search(text: str) -> ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    by_name = Jurisdiction.name.like(f"%{escaped}%", escape="\\")
    if text.isascii() and text.isdigit():
        return or_(by_name, and_(Jurisdiction.code >= text, Jurisdiction.code < text + "~"))
    return by_name


# A lookup of at most this many keys is a point read (core.db.statements); a loader's
# batch for a page of units is not.
FEW_KEYS = 64


# Lookups by key are built once (per scope, and whether they are point reads), their keys
# bound as parameters: building a statement costs more than running it. Scopes are few
# (one per distinct grant set).
@lru_cache(maxsize=256)
def _by_ids(scope: Scope, few: bool) -> Select[Jurisdiction]:
    query = select(Jurisdiction).where(Jurisdiction.id.in_(bindparam("ids", expanding=True)))
    query = scope.within_view(query, Jurisdiction.path)
    return point_read(query) if few else query


@lru_cache(maxsize=256)
def _by_codes(scope: Scope, few: bool) -> Select[Jurisdiction]:
    query = select(Jurisdiction).where(Jurisdiction.code.in_(bindparam("codes", expanding=True)))
    query = scope.within_view(query, Jurisdiction.path)
    return point_read(query) if few else query


# One code (most requests' only lookup): no list to expand into the SQL at each execution.
@lru_cache(maxsize=256)
def _by_code(scope: Scope) -> Select[Jurisdiction]:
    query = select(Jurisdiction).where(Jurisdiction.code == bindparam("code"))
    return point_read(scope.within_view(query, Jurisdiction.path))


_CODE_EXISTS = point_read(
    unscoped(
        select(exists().where(Jurisdiction.code == bindparam("code"))),
        why="the tree's codes are public",
    )
)


async def by_ids(
    session: RequestSession, scope: Scope, ids: Sequence[int]
) -> dict[int, Jurisdiction]:
    """Units the caller may see, by id, retired ones included."""
    found = await session.scalars(_by_ids(scope, len(ids) <= FEW_KEYS), {"ids": list(ids)})
    return {row.id: row for row in found}


async def by_codes(
    session: RequestSession, scope: Scope, codes: Sequence[str]
) -> dict[str, Jurisdiction]:
    """Units the caller may see, by code, retired ones included."""
    if len(codes) == 1:
        found = await session.scalars(_by_code(scope), {"code": codes[0]})
    else:
        query = _by_codes(scope, len(codes) <= FEW_KEYS)
        found = await session.scalars(query, {"codes": list(codes)})
    return {row.code: row for row in found}


async def code_exists(session: RequestSession, code: str) -> bool:
    """Whether any unit has this code: the division codes are published by the state."""
    return bool(await session.scalar(_CODE_EXISTS, {"code": code}))


async def page(
    session: RequestSession,
    scope: Scope,
    *,
    tree_filter: TreeFilter,
    after_path: str | None,
    limit: int,
) -> Sequence[Jurisdiction]:
    """Up to limit visible units matching the filter, in code order, after the cursor's path.

    Paths order units as codes do (the loader keeps every code prefixed by its parent's),
    and path is what the indexes hold, so the page is a range scan.
    """
    query = select(Jurisdiction).where(*tree_filter.predicates())
    if after_path is not None:
        query = query.where(Jurisdiction.path > after_path)
    query = scope.within_view(query, Jurisdiction.path)
    return await session.scalars(query.order_by(Jurisdiction.path).limit(limit))


async def count(session: RequestSession, scope: Scope, *, tree_filter: TreeFilter) -> int:
    """How many visible units match the filter."""
    query = select(func.count()).select_from(Jurisdiction).where(*tree_filter.predicates())
    return await session.scalar(scope.within_view(query, Jurisdiction.path)) or 0


async def children_pages(
    session: RequestSession,
    scope: Scope,
    parent_ids: Sequence[int],
    *,
    after_path: str | None,
    limit: int,
) -> dict[int, list[Jurisdiction]]:
    """For each parent, up to limit visible current children in code order after the cursor."""
    clauses: list[ColumnElement[bool]] = [
        Jurisdiction.parent_id.in_(parent_ids),
        Jurisdiction.valid_to.is_(None),
        scope.visible(Jurisdiction.path),
    ]
    if after_path is not None:
        clauses.append(Jurisdiction.path > after_path)
    rank = (
        func.row_number()
        .over(partition_by=Jurisdiction.parent_id, order_by=Jurisdiction.path)
        .label("rank")
    )
    ranked = select(Jurisdiction, rank).where(*clauses).subquery()
    child = aliased(Jurisdiction, ranked)
    query = select(child).where(ranked.c.rank <= limit).order_by(child.parent_id, child.path)
    pages: dict[int, list[Jurisdiction]] = defaultdict(list)
    for row in await session.scalars(scope.within_view(query, child.path)):
        assert row.parent_id is not None
        pages[row.parent_id].append(row)
    return pages


async def children_counts(
    session: RequestSession, scope: Scope, parent_ids: Sequence[int]
) -> dict[int, int]:
    """How many visible current children each parent has."""
    query = (
        select(Jurisdiction.parent_id, func.count())
        .where(Jurisdiction.parent_id.in_(parent_ids), Jurisdiction.valid_to.is_(None))
        .group_by(Jurisdiction.parent_id)
    )
    rows = await session.rows(scope.within_view(query, Jurisdiction.path))
    return {key: number for key, number in rows if key is not None}


async def descendant_counts(
    session: RequestSession, scope: Scope, root_ids: Sequence[int], *, level: Level | None
) -> dict[int, int]:
    """How many visible current units lie below each root (at one level, when given)."""
    root = aliased(Jurisdiction)
    below = aliased(Jurisdiction)
    clauses: list[ColumnElement[bool]] = [
        strictly_within(below.path, root.path),
        below.valid_to.is_(None),
        scope.visible(below.path),
    ]
    if level is not None:
        clauses.append(below.level == level)
    # One index range count per root: the planners of both databases keep this shape, where
    # a join with GROUP BY sometimes turned into a scan of every unit.
    number = select(func.count()).where(*clauses).correlate(root).scalar_subquery()
    query = scope.within_view(select(root.id, number).where(root.id.in_(root_ids)), root.path)
    return {key: count for key, count in await session.rows(query)}
