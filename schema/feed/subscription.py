"""The change feed as a subscription (graphql-transport-ws): partner front ends are told."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry

from indicators.periods import PeriodType
from resolvers.feed import live
from schema.context import Info
from schema.feed.query import CODES
from schema.feed.types import AggregateChanges
from schema.levels import Level


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The pages of `changes` as they commit, checked and scoped the same way. "
        "Each page's endCursor resumes after a reconnect (pass it as `after`); without it, "
        "from now."
    )
    async def aggregate_changes(
        self,
        info: Info,
        *,
        under: str,
        level: Level,
        period_type: PeriodType = PeriodType.MONTH,
        elements: Annotated[list[str] | None, strawberry.argument(description=CODES)] = None,
        indicators: Annotated[list[str] | None, strawberry.argument(description=CODES)] = None,
        after: str | None = None,
    ) -> AsyncGenerator[AggregateChanges, None]:
        pages = live.follow(
            info.context,
            under=under,
            level=level,
            period_type=period_type,
            after=after,
            elements=elements,
            indicators=indicators,
        )
        # Closed as this generator is: the caller's subscription slot is given back then,
        # not whenever the collector finds the inner generator.
        async with aclosing(pages):
            async for page in pages:
                yield AggregateChanges.from_result(page)
