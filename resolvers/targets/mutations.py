"""Setting and removing targets, and the thresholds that grade assessments, through the API."""

from __future__ import annotations

from collections.abc import Sequence

from authz.roles import Action
from indicators.assessment import Thresholds
from indicators.submission import Outcome
from indicators.targets import thresholds
from indicators.targets.store import TargetRow, write_targets
from resolvers.authors import author_of
from resolvers.context import Context

API_SOURCE = "api"


async def set_targets(context: Context, rows: Sequence[TargetRow], reason: str) -> Outcome:
    """Set (bound None: remove) every row's target or none; each bad row by its index."""
    scope = context.scope(Action.WRITE_TARGETS)
    outcome = await write_targets(
        context.session,
        scope=scope,
        index=await context.catalogue(),
        rows=rows,
        author=author_of(context),
        reason=reason,
        source=API_SOURCE,
    )
    if not outcome.ok:
        # Nothing of this request may be kept: the boundary rolls back its other writes.
        context.session.refused = True
    # Later operations of a batch read the targets as they now are.
    context.forget()
    return outcome


async def set_thresholds(
    context: Context,
    *,
    jurisdiction: str,
    commended: float | None,
    passed: float | None,
    reason: str,
) -> Thresholds | None:
    """Set (both None: remove) the thresholds grading the units below the unit."""
    found = await thresholds.set_thresholds(
        context.session,
        scope=context.scope(Action.WRITE_TARGETS),
        code=jurisdiction,
        commended=commended,
        passed=passed,
        author=author_of(context),
        reason=reason,
    )
    context.forget()
    return found
