"""Root fields of the change feed: pages of moved aggregates, and where the feed stands."""

from __future__ import annotations

from typing import Annotated

import strawberry

from indicators.periods import PeriodType
from resolvers.feed import changes as feed
from schema.context import Info
from schema.feed.types import AggregateChanges
from schema.levels import Level

CODES = "Codes, at most 50 with the other list's; null: every element (when neither is given)."


@strawberry.type
class FeedQuery:
    @strawberry.field(
        description="The aggregates at `level` under `under` that moved after the cursor, "
        "as they are now, in the order of their latest change. Follow endCursor until "
        "hasMore is false, then poll (or subscribe to aggregateChanges): a follower ends "
        "with every aggregate as it is now, missing none."
    )
    async def changes(
        self,
        info: Info,
        *,
        under: Annotated[str, strawberry.argument(description="The root unit's code.")],
        level: Level,
        period_type: Annotated[
            PeriodType,
            strawberry.argument(
                description="The periods aggregates are given for; an element reported by a "
                "longer period is given for its own."
            ),
        ] = PeriodType.MONTH,
        after: Annotated[
            str | None,
            strawberry.argument(description="A cursor; null: the start of the feed."),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Aggregates: 0 to 1000, default 500.")
        ] = None,
        elements: Annotated[list[str] | None, strawberry.argument(description=CODES)] = None,
        indicators: Annotated[list[str] | None, strawberry.argument(description=CODES)] = None,
    ) -> AggregateChanges:
        found = await feed.changes(
            info.context,
            under=under,
            level=level,
            period_type=period_type,
            after=after,
            first=first,
            elements=elements,
            indicators=indicators,
        )
        return AggregateChanges.from_result(found)

    @strawberry.field(
        description="The cursor after everything committed now: read every aggregate (an "
        "export), then follow the feed from here."
    )
    async def feed_head(self, info: Info) -> str:
        return await feed.feed_head(info.context)
