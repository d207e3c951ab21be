"""Findings about the units at one level under a root, a page at a time.

Units are read in code order, a batch at once, and each batch is examined whole (its figures
in a few statements); findings are ordered by (unit path, key) and a page is cut from them
after the caller's position. A page that holds few findings reads on through as many batches
as it takes to fill it: the statements grow with the units examined divided by the batch,
never with the units one by one, and a page is never cut short.

The first batch is twice the page (at least FIRST_READ units), each next one twice the last,
up to UNITS_PER_READ: a first page of a province's outliers is found among its first few
hundred villages, not after reading a thousand villages' histories.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.db.session import RequestSession
from core.errors import BadUserInput
from tenancy import repository
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.scope import Scope

T = TypeVar("T")
FIRST_READ = 100
UNITS_PER_READ = 1000


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a finding stands in its listing: its unit's path, then its key in the unit."""

    path: str
    key: str


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    position: Position
    item: T


# A batch of units → (unit, key, finding) for each finding about them, in any order.
Examine = Callable[[Sequence[Jurisdiction]], Awaitable[list[tuple[Jurisdiction, str, T]]]]


@dataclass(frozen=True, slots=True)
class Units:
    """The units examined: those at `level` under the root not retired before `present_on`,
    within the caller's scope."""

    scope: Scope
    root: Jurisdiction
    level: Level
    present_on: dt.date

    def __post_init__(self) -> None:
        root = self.root
        if self.level.depth < root.level.depth:
            raise BadUserInput(
                f"level: {self.level.value} lies above {root.code}, a {root.level.value}"
            )


async def findings(
    session: RequestSession,
    units: Units,
    examine: Examine[T],
    *,
    after: Position | None,
    limit: int | None,
    per_read: int = UNITS_PER_READ,
) -> tuple[list[Found[T]], bool]:
    """Up to limit findings after the position (all of them when limit is None), and
    whether more follow."""
    tree_filter = repository.TreeFilter(
        level=units.level, under_path=units.root.path, present_on=units.present_on
    )
    # Paths hold digits and "/", which sorts below every digit: nothing lies between a path
    # without its last "/" and the path itself, so the cursor's own unit is read again.
    after_path = after.path[:-1] if after is not None else None
    found: list[Found[T]] = []
    size = per_read if limit is None else min(per_read, max(FIRST_READ, 2 * limit))
    while True:
        batch = await repository.page(
            session, units.scope, tree_filter=tree_filter, after_path=after_path, limit=size
        )
        if not batch:
            return found, False
        examined = [
            Found(Position(unit.path, key), item) for unit, key, item in await examine(batch)
        ]
        examined.sort(key=lambda f: f.position)
        found += [f for f in examined if after is None or f.position > after]
        if limit is not None and len(found) > limit:
            return found[:limit], True
        if len(batch) < size:
            return found, False
        after_path = batch[-1].path
        size = min(per_read, 2 * size)
