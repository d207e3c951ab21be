"""The thresholds that grade assessments, per tree: a unit's row grades every unit below it,
the nearest ancestor's row wins, and without any the defaults (100 and 98) hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, insert, select, update

from core.db.session import RequestSession
from core.errors import BadUserInput, Forbidden, NotFound, shown
from indicators.assessment import Thresholds
from indicators.audit import Author
from indicators.submission import required_reason
from indicators.targets.models import AssessmentThresholds, ThresholdChange
from indicators.targets.store import check_figure, units_by_code
from tenancy.models import Jurisdiction
from tenancy.paths import path_codes
from tenancy.scope import Scope, unscoped

DEFAULTS = Thresholds()


def strict_ancestors(path: str) -> list[str]:
    """The paths of the units above the one at this path, nearest first."""
    codes = path_codes(path)
    return ["".join(f"{code}/" for code in codes[:depth]) for depth in range(len(codes) - 1, 0, -1)]


async def thresholds_for(session: RequestSession, paths: Sequence[str]) -> dict[str, Thresholds]:
    """The thresholds that grade the unit at each path: its nearest ancestor's row."""
    return await _nearest(session, {path: strict_ancestors(path) for path in paths})


async def thresholds_below(session: RequestSession, path: str) -> Thresholds:
    """The thresholds that grade the units just below the one at the path: its own row, or
    its nearest ancestor's."""
    found = await _nearest(session, {path: [path, *strict_ancestors(path)]})
    return found[path]


async def _nearest(session: RequestSession, above: dict[str, list[str]]) -> dict[str, Thresholds]:
    """For each key, the row of the first of its paths that has one (or the defaults)."""
    wanted = sorted({ancestor for ancestors in above.values() for ancestor in ancestors})
    rows: dict[str, Thresholds] = {}
    if wanted:
        query = unscoped(
            select(
                Jurisdiction.path,
                Jurisdiction.code,
                AssessmentThresholds.commended,
                AssessmentThresholds.passed,
            )
            .join(Jurisdiction, Jurisdiction.id == AssessmentThresholds.jurisdiction_id)
            .where(Jurisdiction.path.in_(wanted)),
            why="the thresholds set above a unit are the rules it is graded by",
        )
        for path, code, commended, passed in await session.rows(query):
            rows[path] = Thresholds(commended, passed, code)
    return {
        key: next((rows[a] for a in ancestors if a in rows), DEFAULTS)
        for key, ancestors in above.items()
    }


async def set_thresholds(
    session: RequestSession,
    *,
    scope: Scope,
    code: str,
    commended: float | None,
    passed: float | None,
    author: Author,
    reason: str,
) -> Thresholds | None:
    """Set the thresholds that grade the units below the unit (both None: remove its row,
    so that the nearest ancestor's hold again); audited. Returns what its row now holds."""
    reason = required_reason(reason)
    units, outside = await units_by_code(session, scope, {code.strip()})
    unit = units.get(code.strip())
    if unit is None:
        if code.strip() in outside:
            raise Forbidden(f"{code.strip()}: its assessments' thresholds are outside your access")
        raise NotFound(f"no jurisdiction has code {shown(code)}")
    new: Thresholds | None = None
    if commended is not None or passed is not None:
        if commended is None or passed is None:
            raise BadUserInput("commended, passed: give both, or neither to remove them")
        commended = check_figure("commended", commended)
        passed = check_figure("passed", passed)
        if not 0 <= passed <= commended <= 100:
            raise BadUserInput(
                f"passed {passed:g} and commended {commended:g}: need 0 ≤ passed ≤ commended ≤ 100"
            )
        new = Thresholds(commended, passed, unit.code)
    why = "the unit was checked against the caller's scope"
    stored_query = select(AssessmentThresholds).where(
        AssessmentThresholds.jurisdiction_id == unit.id
    )
    if session.dialect == "postgresql":
        stored_query = stored_query.with_for_update()
    stored = await session.scalar(unscoped(stored_query, why=why))
    old = Thresholds(stored.commended, stored.passed, unit.code) if stored else None
    if old == new:
        return new
    now = dt.datetime.now(dt.UTC)
    if new is None:
        statement = delete(AssessmentThresholds).where(
            AssessmentThresholds.jurisdiction_id == unit.id
        )
        await session.execute(unscoped(statement, why=why))
    elif stored is None:
        await session.execute(
            insert(AssessmentThresholds).values(
                jurisdiction_id=unit.id, commended=commended, passed=passed, updated_at=now
            )
        )
    else:
        changed = update(AssessmentThresholds).where(
            AssessmentThresholds.jurisdiction_id == unit.id
        )
        await session.execute(
            unscoped(changed.values(commended=commended, passed=passed, updated_at=now), why=why)
        )
    await session.execute(
        insert(ThresholdChange).values(
            at=now,
            actor_subject_id=author.subject_id,
            actor=author.label,
            token_id=author.token_id,
            issuer=author.issuer,
            reason=reason,
            jurisdiction_id=unit.id,
            old_commended=old.commended if old else None,
            old_passed=old.passed if old else None,
            new_commended=new.commended if new else None,
            new_passed=new.passed if new else None,
        )
    )
    return new
