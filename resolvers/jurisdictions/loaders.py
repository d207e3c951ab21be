"""DataLoaders over the visible part of the tree, built per request: one query per batch."""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from core.db.session import RequestSession
from resolvers.dataloader import Loader
from tenancy import repository
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.scope import Scope

# A page of children: (parent id, path of the cursor or None, how many rows to fetch).
ChildrenKey = tuple[int, str | None, int]
# Units below a root: (root id, level or None for every level).
DescendantKey = tuple[int, Level | None]


class JurisdictionByIdLoader(Loader[int, Jurisdiction | None]):
    def __init__(self, session: RequestSession, scope: Scope) -> None:
        async def load(ids: list[int]) -> list[Jurisdiction | None]:
            found = await repository.by_ids(session, scope, ids)
            return [found.get(key) for key in ids]

        super().__init__(load_fn=load)


class JurisdictionByCodeLoader(Loader[str, Jurisdiction | None]):
    def __init__(self, session: RequestSession, scope: Scope) -> None:
        async def load(codes: list[str]) -> list[Jurisdiction | None]:
            found = await repository.by_codes(session, scope, codes)
            return [found.get(key) for key in codes]

        super().__init__(load_fn=load)


class ChildrenByParentIdLoader(Loader[ChildrenKey, list[Jurisdiction]]):
    def __init__(self, session: RequestSession, scope: Scope) -> None:
        async def load(keys: list[ChildrenKey]) -> list[list[Jurisdiction]]:
            # Parents asked with the same cursor and size share one windowed query.
            groups: dict[tuple[str | None, int], list[int]] = defaultdict(list)
            for parent_id, after, limit in keys:
                groups[after, limit].append(parent_id)
            found: dict[ChildrenKey, list[Jurisdiction]] = {}
            for (after, limit), parent_ids in groups.items():
                pages = await repository.children_pages(
                    session, scope, parent_ids, after_path=after, limit=limit
                )
                for parent_id in parent_ids:
                    found[parent_id, after, limit] = pages.get(parent_id, [])
            return [found[key] for key in keys]

        super().__init__(load_fn=load)


class ChildCountByParentIdLoader(Loader[int, int]):
    def __init__(self, session: RequestSession, scope: Scope) -> None:
        async def load(parent_ids: list[int]) -> list[int]:
            counts = await repository.children_counts(session, scope, parent_ids)
            return [counts.get(key, 0) for key in parent_ids]

        super().__init__(load_fn=load)


class DescendantCountByRootLoader(Loader[DescendantKey, int]):
    def __init__(self, session: RequestSession, scope: Scope) -> None:
        async def load(keys: list[DescendantKey]) -> list[int]:
            groups: dict[Level | None, list[int]] = defaultdict(list)
            for root_id, level in keys:
                groups[level].append(root_id)
            found: dict[DescendantKey, int] = {}
            for level, root_ids in groups.items():
                counts = await repository.descendant_counts(session, scope, root_ids, level=level)
                for root_id in root_ids:
                    found[root_id, level] = counts.get(root_id, 0)
            return [found[key] for key in keys]

        super().__init__(load_fn=load)


class JurisdictionLoaders:
    """The tree as one caller may see it: their subtrees and the units above them.

    Each loader is made when a field first asks for it: most requests use one or two.
    """

    def __init__(self, session: RequestSession, scope: Scope) -> None:
        self._session = session
        self.scope = scope

    @classmethod
    def for_scope(cls, session: RequestSession, scope: Scope) -> JurisdictionLoaders:
        return cls(session, scope)

    @cached_property
    def by_id(self) -> JurisdictionByIdLoader:
        return JurisdictionByIdLoader(self._session, self.scope)

    @cached_property
    def by_code(self) -> JurisdictionByCodeLoader:
        return JurisdictionByCodeLoader(self._session, self.scope)

    @cached_property
    def children(self) -> ChildrenByParentIdLoader:
        return ChildrenByParentIdLoader(self._session, self.scope)

    @cached_property
    def child_count(self) -> ChildCountByParentIdLoader:
        return ChildCountByParentIdLoader(self._session, self.scope)

    @cached_property
    def descendant_count(self) -> DescendantCountByRootLoader:
        return DescendantCountByRootLoader(self._session, self.scope)
