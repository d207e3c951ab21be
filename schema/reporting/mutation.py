"""Mutations of the monthly cycle: submit, approve, return, withdraw, reopen."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.reporting import mutations
from resolvers.reporting.queries import ReportView
from schema.context import Info
from schema.reporting.query import Month, Unit
from schema.reporting.types import ApprovalStatus, Reopening, Report, ReportPayload
from schema.validation.rules import ValidationWarning

Reason = Annotated[str, strawberry.argument(description="Why: kept with the act.")]


@strawberry.type
class ReportingMutation:
    @strawberry.mutation(
        description="Submit a unit's report for a month: its values go into review. The "
        "server records the time; LOCKED when the month is approved."
    )
    async def submit_report(
        self, info: Info, unit: Unit, period: Month, comment: str = ""
    ) -> ReportPayload:
        submitted = await mutations.submit_report(
            info.context, unit=unit, period=period, comment=comment
        )
        view = ReportView(submitted.unit, submitted.report)
        return ReportPayload(
            report=Report.from_view(view),
            resubmitted=submitted.resubmitted,
            violations=[ValidationWarning.from_violation(v) for v in submitted.violations],
        )

    @strawberry.mutation(
        description="Approve a unit's month (your level, bottom up): CONFLICT naming the units "
        "below that are not in yet. Approved values are locked."
    )
    async def approve(
        self, info: Info, unit: Unit, period: Month, reason: str = ""
    ) -> ApprovalStatus:
        view = await mutations.approve(info.context, unit=unit, period=period, reason=reason)
        return ApprovalStatus.from_view(view)

    @strawberry.mutation(
        description="Send a unit's month back from a level above: its approval is withdrawn and "
        "its report returned, with the reason shown to it."
    )
    async def return_for_correction(
        self, info: Info, unit: Unit, period: Month, reason: Reason
    ) -> ApprovalStatus:
        view = await mutations.return_for_correction(
            info.context, unit=unit, period=period, reason=reason
        )
        return ApprovalStatus.from_view(view)

    @strawberry.mutation(
        description="Withdraw a unit's approval of a month (its own level or one above), while "
        "no approval above it stands."
    )
    async def withdraw_approval(
        self, info: Info, unit: Unit, period: Month, reason: Reason
    ) -> ApprovalStatus:
        view = await mutations.withdraw_approval(
            info.context, unit=unit, period=period, reason=reason
        )
        return ApprovalStatus.from_view(view)

    @strawberry.mutation(
        description="Open a unit's locked month for correction from a level above, for some "
        "hours (1 to 168); its reports are to be submitted again."
    )
    async def reopen(
        self, info: Info, unit: Unit, period: Month, reason: Reason, hours: int = 24
    ) -> Reopening:
        reopening = await mutations.reopen(
            info.context, unit=unit, period=period, hours=hours, reason=reason
        )
        return Reopening.from_model(reopening)
