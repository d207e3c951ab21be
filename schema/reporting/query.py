"""Queries of the monthly cycle."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.reporting import queries
from schema.context import Info
from schema.levels import Level
from schema.pagination import Connection, to_connection
from schema.periods import PERIOD
from schema.reporting.types import (
    After,
    ApprovalStatus,
    First,
    HistoryItem,
    Report,
    ReportingRule,
    ReportingStatus,
)

Unit = Annotated[str, strawberry.argument(description="A unit's code.")]
Month = Annotated[str, strawberry.argument(description="A month: 2024-03.")]
AnyPeriod = Annotated[str, strawberry.argument(description=PERIOD)]


@strawberry.type
class ReportingQuery:
    @strawberry.field(
        description="Completeness and timeliness of a level's reports under a unit for a "
        "period (each month of it): expected, submitted, on time, late, missing, returned, "
        "with the units to follow up; counted from the tree as it stood in each month."
    )
    async def reporting_status(
        self, info: Info, under: Unit, period: AnyPeriod, level: Level
    ) -> ReportingStatus:
        asked = await queries.reporting_status(
            info.context, under=under, period=period, level=level
        )
        return ReportingStatus.from_asked(asked)

    @strawberry.field(description="A unit's report for a month; null when not submitted.")
    async def report(self, info: Info, unit: Unit, period: Month) -> Report | None:
        found = await queries.report(info.context, unit=unit, period=period)
        return None if found is None else Report.from_view(found)

    @strawberry.field(description="Where a unit's approval of a month stands.")
    async def approval_status(self, info: Info, unit: Unit, period: Month) -> ApprovalStatus:
        view = await queries.approval_status(info.context, unit=unit, period=period)
        return ApprovalStatus.from_view(view)

    @strawberry.field(description="The approval state of every unit at a level under a unit.")
    async def approval_statuses(
        self,
        info: Info,
        *,
        under: Unit,
        period: Month,
        level: Level,
        first: First = None,
        after: After = None,
    ) -> Connection[ApprovalStatus]:
        page = await queries.approval_statuses(
            info.context, under=under, period=period, level=level, first=first, after=after
        )
        return to_connection(page, ApprovalStatus.from_view)

    @strawberry.field(
        description="The rules at a unit for its level and each below: deadlines, approvals."
    )
    async def reporting_rules(self, info: Info, unit: Unit) -> list[ReportingRule]:
        rules = await queries.reporting_rules(info.context, unit=unit)
        return [ReportingRule.from_rule(rule) for rule in rules]

    @strawberry.field(
        description="Every act of the monthly cycle on a unit and its subtree (of one month, "
        "when given), newest first: submissions, approvals, returns, withdrawals, reopenings "
        "and rule changes, with who, when and why."
    )
    async def reporting_history(
        self,
        info: Info,
        *,
        unit: Unit,
        period: Annotated[str | None, strawberry.argument(description="A month: 2024-03.")] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[HistoryItem]:
        page = await queries.history(
            info.context, unit=unit, period=period, first=first, after=after
        )
        return to_connection(page, HistoryItem.from_entry)
