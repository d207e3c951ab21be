"""The monthly cycle as callers read it: reports, approval states, reporting status."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from indicators.periods import Period, PeriodType
from indicators.reporting.approvals import ApprovalState, ApprovalView, GivenApproval
from indicators.reporting.expected import month_text
from indicators.reporting.models import EventKind, ReportState, WorkflowEvent
from indicators.reporting.models import Reopening as ReopeningRow
from indicators.reporting.rules import LevelRule
from indicators.reporting.status import Counts, FollowUp, FollowUpRow
from resolvers.pagination import MAX_PAGE_SIZE
from resolvers.reporting import queries
from resolvers.reporting.queries import HistoryEntry, ReportView, StatusAsked
from schema.context import Info
from schema.jurisdictions.types import Jurisdiction
from schema.levels import Level
from schema.pagination import Connection, to_connection
from schema.validation.rules import ValidationWarning

strawberry.enum(ReportState, description="Where a unit's report for a month stands.")
strawberry.enum(EventKind, description="An act of the monthly cycle.")
strawberry.enum(
    ApprovalState,
    description="Where a unit's approval of a month stands: NOT_APPROVING (its level does "
    "not approve here and nothing above approved), WAITING (something below is not in), "
    "READY, APPROVED_HERE, APPROVED_ABOVE (a unit above approved it).",
)

First = Annotated[int | None, strawberry.argument(description="Page size (50 by default).")]
After = Annotated[str | None, strawberry.argument(description="A cursor from a previous page.")]


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


@strawberry.type(description="One act of the monthly cycle: who, when (the server's), why.")
class Act:
    at: dt.datetime
    actor: str
    issuer: str | None = strawberry.field(
        description="Who issued the token the actor used, when someone else did."
    )
    reason: str

    @classmethod
    def from_model(cls, event: WorkflowEvent) -> Act:
        return cls(at=_utc(event.at), actor=event.actor, issuer=event.issuer, reason=event.reason)


@strawberry.type(description="A value of the report as approved and as it is now.")
class ReportDifference:
    element: str
    disaggregation: str
    period: str
    approved: float | None = strawberry.field(description="null: none was stored then.")
    now: float | None = strawberry.field(description="null: deleted since.")


@strawberry.type(description="A unit's submission of its values for one month.")
class Report:
    view: strawberry.Private[ReportView]
    unit: Jurisdiction
    period: str
    state: ReportState
    first_submitted_at: dt.datetime = strawberry.field(
        description="When it was first submitted, by the server's clock; never changes."
    )
    deadline: dt.datetime = strawberry.field(
        description="On time when first submitted before this instant (the end of the "
        "deadline day, China Standard Time), as the tree's rules stood then."
    )
    on_time: bool

    @classmethod
    def from_view(cls, view: ReportView) -> Report:
        report = view.report
        submitted, due = _utc(report.first_submitted_at), _utc(report.deadline_at)
        return cls(
            view=view,
            unit=Jurisdiction.from_model(view.unit),
            period=month_text(report.month_index),
            state=report.state,
            first_submitted_at=submitted,
            deadline=due,
            on_time=submitted < due,
        )

    @strawberry.field(
        description="The latest submission: who, when, with what comment (the audit: needs "
        "AUDIT read at the unit)."
    )
    async def last_submitted(self, info: Info) -> Act:
        queries.require_acts(info.context, self.view.unit)
        event = await queries.event(info.context, self.view.report.submitted_event_id)
        return Act.from_model(event)

    @strawberry.field(
        description="The latest return for correction, with its reason (the audit, as above)."
    )
    async def returned(self, info: Info) -> Act | None:
        queries.require_acts(info.context, self.view.unit)
        event_id = self.view.report.returned_event_id
        if event_id is None:
            return None
        return Act.from_model(await queries.event(info.context, event_id))

    @strawberry.field(
        description="What changed in this report since the month was last approved (empty "
        "when it never was): the values as approved are kept."
    )
    async def changes_since_approval(self, info: Info) -> list[ReportDifference]:
        index = await info.context.catalogue()
        out = []
        for difference in await queries.differences(info.context, self.view):
            element, key = index.by_combo[difference.combo_id]
            start = Period(
                difference.month_index // 12, difference.month_index % 12 + 1, PeriodType.MONTH
            )
            period = Period(start.year, start.first_month, element.period_type)
            out.append(
                ReportDifference(
                    element=element.code,
                    disaggregation=key,
                    period=str(period),
                    approved=difference.approved,
                    now=difference.now,
                )
            )
        return out


@strawberry.type
class ReportPayload:
    report: Report
    resubmitted: bool = strawberry.field(description="It had been submitted before.")
    violations: list[ValidationWarning] = strawberry.field(
        description="Rules the unit's values fail for the month's periods: warnings (a rule "
        "of HIGH importance refuses the report instead)."
    )


@strawberry.type(description="An approval: the unit that gave it, and who, when, why.")
class GivenApprovalInfo:
    unit: Jurisdiction
    given: strawberry.Private[GivenApproval]

    @strawberry.field(
        description="Who approved, when and why: the approving unit's audit (needs AUDIT read "
        "there)."
    )
    def approved(self, info: Info) -> Act:
        queries.require_acts(info.context, self.given.unit)
        return Act.from_model(self.given.event)

    @classmethod
    def of(cls, given: GivenApproval | None) -> GivenApprovalInfo | None:
        if given is None:
            return None
        return cls(unit=Jurisdiction.from_model(given.unit), given=given)


@strawberry.type(description="A unit below whose report or approval is not in yet.")
class WaitingUnit:
    unit: Jurisdiction
    needs: str = strawberry.field(description="`report` or `approval`.")


@strawberry.type(description="Where one unit's approval of one month stands.")
class ApprovalStatus:
    view: strawberry.Private[ApprovalView]
    unit: Jurisdiction
    period: str
    state: ApprovalState
    approves: bool = strawberry.field(description="Whether the unit's level approves here.")
    approved_here: GivenApprovalInfo | None
    approved_above: GivenApprovalInfo | None
    waiting_count: int

    @classmethod
    def from_view(cls, view: ApprovalView) -> ApprovalStatus:
        return cls(
            view=view,
            unit=Jurisdiction.from_model(view.unit),
            period=month_text(view.month_index),
            state=view.state,
            approves=view.approves,
            approved_here=GivenApprovalInfo.of(view.here),
            approved_above=GivenApprovalInfo.of(view.above),
            waiting_count=len(view.waiting),
        )

    @strawberry.field(description="The units below it waits for, by code.")
    def waiting_for(self, first: int = 50) -> list[WaitingUnit]:
        first = max(0, min(first, MAX_PAGE_SIZE))
        return [
            WaitingUnit(unit=Jurisdiction.from_model(w.unit), needs=w.needs)
            for w in self.view.waiting[:first]
        ]


@strawberry.type(description="A unit's month to follow up: its report missing, late or returned.")
class FollowUpUnit:
    unit: Jurisdiction
    period: str
    row: strawberry.Private[FollowUpRow]

    @strawberry.field(description="Its report; null when it is missing.")
    def report(self) -> Report | None:
        if self.row.report is None:
            return None
        return Report.from_view(ReportView(self.row.unit, self.row.report))

    @classmethod
    def from_row(cls, row: FollowUpRow) -> FollowUpUnit:
        return cls(
            unit=Jurisdiction.from_model(row.unit), period=month_text(row.month_index), row=row
        )


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 2)


@strawberry.type(description="Reports of one level: how many were expected and how they came in.")
class ReportingCounts:
    expected: int = strawberry.field(
        description="Unit-months expected: units of the level that existed in each month "
        "with something due in it."
    )
    submitted: int = strawberry.field(
        description="Reports in, returned ones included (they count in `returned` too)."
    )
    on_time: int
    late: int
    missing: int
    returned: int = strawberry.field(description="Submitted, then sent back for correction.")
    completeness: float | None = strawberry.field(
        description="Submitted per 100 expected; null when none was expected."
    )
    timeliness: float | None = strawberry.field(description="On time per 100 expected.")

    @classmethod
    def of(cls, counts: Counts) -> ReportingCounts:
        return cls(
            expected=counts.expected,
            submitted=counts.submitted,
            on_time=counts.on_time,
            late=counts.late,
            missing=counts.missing,
            returned=counts.returned,
            completeness=_rate(counts.submitted, counts.expected),
            timeliness=_rate(counts.on_time, counts.expected),
        )


@strawberry.type(description="A unit one level down and the reports of its subtree.")
class ReportingStatusRow:
    unit: Jurisdiction
    counts: ReportingCounts


@strawberry.type(description="Completeness and timeliness of one level's reports in a subtree.")
class ReportingStatus:
    asked: strawberry.Private[StatusAsked]
    unit: Jurisdiction
    level: Level
    period: str
    counts: ReportingCounts

    @classmethod
    def from_asked(cls, asked: StatusAsked) -> ReportingStatus:
        return cls(
            asked=asked,
            unit=Jurisdiction.from_model(asked.status.under),
            level=asked.status.level,
            period=asked.period,
            counts=ReportingCounts.of(asked.status.total),
        )

    @strawberry.field(description="The same for each unit one level down, by code.")
    def below(self) -> list[ReportingStatusRow]:
        return [
            ReportingStatusRow(unit=Jurisdiction.from_model(unit), counts=ReportingCounts.of(c))
            for unit, c in self.asked.status.below
        ]

    async def _follow_up(
        self, info: Info, kind: FollowUp, first: int | None, after: str | None
    ) -> Connection[FollowUpUnit]:
        page = await queries.follow_up(info.context, self.asked, kind, first=first, after=after)
        return to_connection(page, FollowUpUnit.from_row)

    @strawberry.field(description="Units whose report is missing, by month then code.")
    async def missing_units(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[FollowUpUnit]:
        return await self._follow_up(info, FollowUp.MISSING, first, after)

    @strawberry.field(description="Units that submitted after the deadline.")
    async def late_units(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[FollowUpUnit]:
        return await self._follow_up(info, FollowUp.LATE, first, after)

    @strawberry.field(description="Units whose report was returned for correction.")
    async def returned_units(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[FollowUpUnit]:
        return await self._follow_up(info, FollowUp.RETURNED, first, after)


@strawberry.type(description="How a level works in a tree: its deadline and whether it approves.")
class ReportingRule:
    level: Level
    deadline_day: int = strawberry.field(
        description="Reports (or approvals) are due by the end of this day of the following month."
    )
    approves: bool
    set_at: str | None = strawberry.field(
        description="The unit whose rule this is (null: the default)."
    )

    @classmethod
    def from_rule(cls, rule: LevelRule) -> ReportingRule:
        return cls(
            level=rule.level,
            deadline_day=rule.deadline_day,
            approves=rule.approves,
            set_at=rule.set_at,
        )


@strawberry.type(description="Locked values opened for correction until a time.")
class Reopening:
    period: str
    opened_at: dt.datetime
    until: dt.datetime

    @classmethod
    def from_model(cls, row: ReopeningRow) -> Reopening:
        return cls(
            period=month_text(row.month_index), opened_at=_utc(row.opened_at), until=_utc(row.until)
        )


@strawberry.type(description="One act of the monthly cycle on a unit.")
class HistoryItem:
    unit: Jurisdiction
    period: str | None = strawberry.field(description="null: a rule, which holds every month.")
    kind: EventKind
    act: Act
    detail: str = strawberry.field(
        description="What it changed, as JSON: a rule before and after, a reopening's end."
    )

    @classmethod
    def from_entry(cls, entry: HistoryEntry) -> HistoryItem:
        month = entry.event.month_index
        return cls(
            unit=Jurisdiction.from_model(entry.unit),
            period=None if month is None else month_text(month),
            kind=entry.event.kind,
            act=Act.from_model(entry.event),
            detail=entry.event.detail,
        )
