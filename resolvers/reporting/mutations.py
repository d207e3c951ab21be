"""Submitting reports and approving months through the API: each act checked against the
caller's scope (approving at the unit; returning and reopening from a level above)."""

from __future__ import annotations

from authz.roles import Action
from core.errors import Forbidden
from indicators.catalogue_index import CatalogueIndex
from indicators.reporting import approvals, reports
from indicators.reporting.approvals import ApprovalView, MonthAct
from indicators.reporting.models import Reopening
from indicators.reporting.reports import Submitted
from indicators.reporting.units import month_argument, optional_text, unit_argument
from indicators.submission import required_reason
from resolvers.authors import author_of
from resolvers.context import Context
from tenancy.models import Jurisdiction
from tenancy.paths import ancestor_paths


async def _unit(context: Context, code: str, action: Action, what: str) -> Jurisdiction:
    return await unit_argument(context.session, context.scope(action), code, what=what)


async def _unit_below(context: Context, code: str, what: str) -> Jurisdiction:
    """The unit, which the caller must approve for from a level above it."""
    unit = await _unit(context, code, Action.APPROVE, what)
    paths = ancestor_paths(unit.path)
    if len(paths) < 2 or not context.scope(Action.APPROVE).contains(paths[-2]):
        raise Forbidden(f"unit: {unit.code}'s months are {what} from a level above it")
    return unit


async def submit_report(context: Context, *, unit: str, period: str, comment: str) -> Submitted:
    author = author_of(context)
    found = await _unit(context, unit, Action.WRITE_VALUES, "report for")
    index = await context.catalogue()
    return await reports.submit_report(
        context.session,
        index=index,
        unit=found,
        month_index=month_argument(index, period),
        author=author,
        comment=optional_text(comment, what="comment"),
    )


async def _act(
    context: Context, unit: Jurisdiction, period: str, reason: str
) -> tuple[CatalogueIndex, MonthAct]:
    index = await context.catalogue()
    return index, MonthAct(unit, month_argument(index, period), author_of(context), reason)


async def approve(context: Context, *, unit: str, period: str, reason: str) -> ApprovalView:
    found = await _unit(context, unit, Action.APPROVE, "approve for")
    index, act = await _act(context, found, period, optional_text(reason, what="reason"))
    return await approvals.approve(context.session, index, act)


async def withdraw_approval(
    context: Context, *, unit: str, period: str, reason: str
) -> ApprovalView:
    reason = required_reason(reason)
    found = await _unit(context, unit, Action.APPROVE, "withdraw approvals for")
    index, act = await _act(context, found, period, reason)
    return await approvals.withdraw_approval(context.session, index, act)


async def return_for_correction(
    context: Context, *, unit: str, period: str, reason: str
) -> ApprovalView:
    reason = required_reason(reason)
    found = await _unit_below(context, unit, "returned")
    index, act = await _act(context, found, period, reason)
    return await approvals.return_for_correction(context.session, index, act)


async def reopen(context: Context, *, unit: str, period: str, hours: int, reason: str) -> Reopening:
    reason = required_reason(reason)
    found = await _unit_below(context, unit, "reopened")
    _, act = await _act(context, found, period, reason)
    scope = context.scope(Action.APPROVE)
    return await approvals.reopen(context.session, act, hours=hours, may_reopen=scope.contains)
