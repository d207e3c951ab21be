"""Jurisdictions as partners see them: the division tree, one unit at a time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from resolvers.jurisdictions import queries
from resolvers.rollups import queries as rollup_queries
from resolvers.targets import queries as target_queries
from resolvers.values import queries as value_queries
from schema.context import Info
from schema.levels import Level
from schema.pagination import Connection, to_connection
from schema.periods import PERIOD
from schema.rollups.types import Aggregate, ApprovedOnly, IndicatorValue
from schema.targets.types import YEAR, Assessment, TargetType
from schema.values.types import StoredValue, ValueChangeEntry
from tenancy import models


@strawberry.type(
    description="An administrative division (行政区划) and the tenant that reports for it."
)
class Jurisdiction:
    code: str = strawberry.field(
        description="Statistical division code (统计用区划代码): 2, 4, 6, 9 or 12 digits."
    )
    name: str = strawberry.field(description="Official name, in Chinese.")
    level: Level
    valid_from: dt.date = strawberry.field(description="First day the unit exists.")
    valid_to: dt.date | None = strawberry.field(
        description="First day the unit no longer exists; null while it is current."
    )
    unit: strawberry.Private[models.Jurisdiction]

    @classmethod
    def from_model(cls, unit: models.Jurisdiction) -> Jurisdiction:
        return cls(
            code=unit.code,
            name=unit.name,
            level=unit.level,
            valid_from=unit.valid_from,
            valid_to=unit.valid_to,
            unit=unit,
        )

    @strawberry.field(description="The unit one level up; null for a province.")
    async def parent(self, info: Info) -> Jurisdiction | None:
        found = await queries.parent(info.context, self.unit)
        return Jurisdiction.from_model(found) if found else None

    @strawberry.field(description="Every unit above this one, the province first.")
    async def ancestors(self, info: Info) -> list[Jurisdiction]:
        return [
            Jurisdiction.from_model(u) for u in await queries.ancestors(info.context, self.unit)
        ]

    @strawberry.field(description="Current units one level down, in code order.")
    async def children(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Jurisdiction]:
        page = await queries.children(info.context, self.unit, first=first, after=after)
        return to_connection(page, Jurisdiction.from_model)

    @strawberry.field(
        description="The unit's own stored values whose period lies in the asked one."
    )
    async def values(
        self,
        info: Info,
        period: Annotated[str, strawberry.argument(description=PERIOD)],
        elements: list[str] | None = None,
    ) -> list[StoredValue]:
        found = await value_queries.values(
            info.context, self.unit, period=period, elements=elements
        )
        return [StoredValue.from_model(view, value) for view, value in found]

    @strawberry.field(
        description="A data element summed over the unit's subtree and the period: births of "
        "a county in 2024, optionally restricted to options (sex=male;parity=2)."
    )
    async def value(
        self,
        info: Info,
        element: str,
        period: Annotated[str, strawberry.argument(description=PERIOD)],
        disaggregation: str | None = None,
        approved_only: ApprovedOnly = False,
    ) -> Aggregate:
        found = await rollup_queries.value(
            info.context,
            self.unit,
            element=element,
            period=period,
            disaggregation=disaggregation,
            approved_only=approved_only,
        )
        return Aggregate.from_result(found)

    @strawberry.field(description="One indicator of the unit's subtree for the period.")
    async def indicator(
        self,
        info: Info,
        code: str,
        period: Annotated[str, strawberry.argument(description=PERIOD)],
        approved_only: ApprovedOnly = False,
    ) -> IndicatorValue:
        found = await rollup_queries.indicator(
            info.context, self.unit, code=code, period=period, approved_only=approved_only
        )
        return IndicatorValue.from_result(found)

    @strawberry.field(
        description="Several indicators (all when codes is null), in the order asked."
    )
    async def indicators(
        self,
        info: Info,
        period: Annotated[str, strawberry.argument(description=PERIOD)],
        codes: list[str] | None = None,
        approved_only: ApprovedOnly = False,
    ) -> list[IndicatorValue]:
        found = await rollup_queries.indicators(
            info.context, self.unit, codes=codes, period=period, approved_only=approved_only
        )
        return [IndicatorValue.from_result(result) for result in found]

    @strawberry.field(description="Every change to the unit's values, newest first.")
    async def audit_trail(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        period: Annotated[
            str | None,
            strawberry.argument(
                description="Only changes to values whose period starts inside this one: " + PERIOD
            ),
        ] = None,
    ) -> Connection[ValueChangeEntry]:
        page = await value_queries.audit_trail(
            info.context, self.unit, first=first, after=after, period=period
        )
        return to_connection(page, lambda row: ValueChangeEntry.from_model(*row))

    @strawberry.field(description="How many current units lie below, at one level or at all.")
    async def descendant_count(
        self,
        info: Info,
        level: Annotated[
            Level | None, strawberry.argument(description="Count only units at this level.")
        ] = None,
    ) -> int:
        return await queries.descendant_count(info.context, self.unit, level)

    @strawberry.field(description="The unit's targets for the year, set by the units above it.")
    async def targets(
        self, info: Info, year: Annotated[str, strawberry.argument(description=YEAR)]
    ) -> list[TargetType]:
        found = await target_queries.targets(info.context, self.unit, year=year)
        return [TargetType.from_model(target) for target in found]

    @strawberry.field(
        description="The unit assessed on its targets for the year: each target's actual "
        "figure, a score and a grade; null when it has no targets for the year."
    )
    async def assessment(
        self, info: Info, year: Annotated[str, strawberry.argument(description=YEAR)]
    ) -> Assessment | None:
        found = await target_queries.assessment(info.context, self.unit, year=year)
        return Assessment.from_assessment(found) if found else None
