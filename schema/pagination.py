"""Relay-style connections: edges with cursors, page info and a total count."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry

from resolvers.pagination import Page

Item = TypeVar("Item")
Node = TypeVar("Node")


@strawberry.type(description="Where a page stands in its listing.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[Node]):
    cursor: str = strawberry.field(description="Pass as `after` to continue after this node.")
    node: Node


@strawberry.type
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo
    _total: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many nodes the whole listing holds, across all pages.")
    async def total_count(self) -> int:
        return await self._total()


def to_connection(page: Page[Item], node: Callable[[Item], Node]) -> Connection[Node]:
    """A connection of schema nodes from a page of domain objects."""
    edges = [
        Edge(cursor=cursor, node=node(item))
        for item, cursor in zip(page.items, page.cursors, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        _total=page.total,
    )
