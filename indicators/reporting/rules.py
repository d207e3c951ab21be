"""The rules of each tree: by which day of the following month a level's reports (or
approvals) are due, and which levels approve. A rule set at a unit holds in its subtree;
the nearest ancestor's rule wins; levels without one keep the defaults."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert, or_, select, update

from core.db.session import RequestSession
from core.errors import BadUserInput
from indicators.audit import Author
from indicators.reporting.events import record_event
from indicators.reporting.expected import CHINA_STANDARD_TIME
from indicators.reporting.models import EventKind, ReportingRule
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import ancestor_paths, within
from tenancy.scope import unscoped

# Deadlines fall at the end of their day in China Standard Time (no daylight saving).
REPORTING_TIME_ZONE = CHINA_STANDARD_TIME
# Villages report to their township by the 3rd, townships to the county by the 5th, …
DEFAULT_DEADLINE_DAYS = {
    Level.VILLAGE: 3,
    Level.TOWNSHIP: 5,
    Level.COUNTY: 10,
    Level.CITY: 15,
    Level.PROVINCE: 20,
}
DEFAULT_APPROVING = frozenset({Level.TOWNSHIP, Level.COUNTY, Level.CITY, Level.PROVINCE})
_UNIT = "the caller was checked against the unit"
_CHECKED = "the tree's rules are public to whoever may see the unit they hold at"


@dataclass(frozen=True, slots=True)
class LevelRule:
    level: Level
    deadline_day: int
    approves: bool
    # The unit whose rule this is; None for the default.
    set_at: str | None = None


def default_rule(level: Level) -> LevelRule:
    return LevelRule(level, DEFAULT_DEADLINE_DAYS[level], level in DEFAULT_APPROVING)


def deadline(month_index: int, day: int) -> dt.datetime:
    """The first instant after the deadline day of the month following month_index: a
    report is on time when submitted before it."""
    year, month = divmod(month_index + 1, 12)
    due = dt.datetime(year, month + 1, day, tzinfo=REPORTING_TIME_ZONE)
    return (due + dt.timedelta(days=1)).astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class RuleBook:
    """The rules set at units of one part of the tree, by the path of the unit."""

    by_path: dict[str, dict[Level, LevelRule]]

    def rule(self, path: str, level: Level) -> LevelRule:
        """The rule for a unit at this path and level: its nearest ancestor's (or its own)."""
        for ancestor in reversed(ancestor_paths(path)):
            found = self.by_path.get(ancestor, {}).get(level)
            if found is not None:
                return found
        return default_rule(level)

    def approves(self, unit: Jurisdiction) -> bool:
        return self.rule(unit.path, unit.level).approves


async def rule_book(session: RequestSession, roots: Iterable[str]) -> RuleBook:
    """Every rule that can hold for a unit in the subtrees at these paths: those set above
    them and those set inside them."""
    paths = sorted(set(roots))
    above = sorted({ancestor for path in paths for ancestor in ancestor_paths(path)})
    where = or_(Jurisdiction.path.in_(above), *(within(Jurisdiction.path, p) for p in paths))
    statement = select(ReportingRule, Jurisdiction.code, Jurisdiction.path).join(
        Jurisdiction, Jurisdiction.id == ReportingRule.unit_id
    )
    by_path: dict[str, dict[Level, LevelRule]] = {}
    for rule, code, path in await session.rows(unscoped(statement.where(where), why=_CHECKED)):
        by_path.setdefault(path, {})[rule.level] = LevelRule(
            rule.level, rule.deadline_day, rule.approves, code
        )
    return RuleBook(by_path)


async def set_rule(
    session: RequestSession,
    *,
    unit: Jurisdiction,
    level: Level,
    deadline_day: int | None,
    approves: bool | None,
    author: Author,
    reason: str,
) -> LevelRule:
    """Set the rule of a level in the unit's subtree; fields left None keep what holds there
    now. The unit itself must lie at or above the level."""
    if level.depth < unit.level.depth:
        raise BadUserInput(
            f"level: {unit.code} is a {unit.level.value}; its subtree has no {level.value} units"
        )
    if deadline_day is not None and not 1 <= deadline_day <= 28:
        raise BadUserInput(f"deadline day: 1 to 28, not {deadline_day}")
    book = await rule_book(session, [unit.path])
    before = book.rule(unit.path, level)
    after = LevelRule(
        level,
        before.deadline_day if deadline_day is None else deadline_day,
        before.approves if approves is None else approves,
        unit.code,
    )
    detail = {
        "level": level.value,
        "before": {"deadline_day": before.deadline_day, "approves": before.approves},
        "after": {"deadline_day": after.deadline_day, "approves": after.approves},
    }
    event = await record_event(
        session,
        kind=EventKind.RULE_SET,
        unit_id=unit.id,
        month_index=None,
        author=author,
        reason=reason,
        detail=json.dumps(detail),
    )
    key = (ReportingRule.unit_id == unit.id, ReportingRule.level == level)
    values = {"deadline_day": after.deadline_day, "approves": after.approves, "event_id": event}
    exists = await session.scalar(unscoped(select(ReportingRule.event_id).where(*key), why=_UNIT))
    if exists is None:
        await session.execute(insert(ReportingRule).values(unit_id=unit.id, level=level, **values))
    else:
        await session.execute(unscoped(update(ReportingRule).where(*key).values(values), why=_UNIT))
    return after
