"""Root fields for roll-ups: the grid a dashboard shows and the series a chart draws."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.rollups import grid, series
from schema.context import Info
from schema.levels import Level
from schema.periods import PERIOD
from schema.rollups.types import ApprovedOnly, RollupGrid, RollupOrder, Series


@strawberry.type
class RollupQuery:
    @strawberry.field(
        description="One row per current unit at `level` under `under`, with the indicators "
        "and elements asked, for one period. Code order unless orderBy names a column."
    )
    async def rollup(
        self,
        info: Info,
        *,
        under: Annotated[str, strawberry.argument(description="The root unit's code.")],
        level: Level,
        period: Annotated[str, strawberry.argument(description=PERIOD)],
        indicators: list[str] | None = None,
        elements: list[str] | None = None,
        order_by: RollupOrder | None = None,
        first: Annotated[
            int | None, strawberry.argument(description="Rows: 0 to 1000, default 50.")
        ] = None,
        after: str | None = None,
        approved_only: ApprovedOnly = False,
    ) -> RollupGrid:
        order = grid.GridOrder(order_by.column, order_by.descending) if order_by else None
        found = await grid.rollup(
            info.context,
            under=under,
            level=level,
            period=period,
            indicators=indicators or [],
            elements=elements or [],
            order=order,
            first=first,
            after=after,
            approved_only=approved_only,
        )
        return RollupGrid.from_grid(found)

    @strawberry.field(description="One indicator of one unit for each period from `from` to `to`.")
    async def series(
        self,
        info: Info,
        code: str,
        indicator: str,
        from_: Annotated[
            str,
            strawberry.argument(
                name="from", description="First period, such as 2024-01 or 2020FP."
            ),
        ],
        to: Annotated[
            str,
            strawberry.argument(
                description="Last period, of the same type: statistical years step by a year "
                "from the catalogue's month."
            ),
        ],
    ) -> Series:
        found = await series.series(
            info.context, code=code, indicator=indicator, first=from_, last=to
        )
        return Series.from_result(found)
