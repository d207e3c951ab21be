"""The demo's monthly cycle: a year of one province's reports as they came in, approved
level by level, so that every state the API shows appears on first start.

Villages submit every month, one in twelve after the deadline; from October more reports
go missing and a few are returned for correction. Townships (and counties and townships
in a quarter's last month, for funding) report too. A township approves a month once its
villages are all in; counties approve January to September once their townships have, the
cities January to June: the province is left ready to approve, or waiting.

The rows are what the API's acts write (reports, approvals, one event each, the default
rules' deadlines), dated in the year they describe, written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, exists, func, insert, select

from core.db.engine import SQLITE_WRITE
from indicators.models import ValueChange
from indicators.reporting.models import (
    Approval,
    EventKind,
    Report,
    ReportState,
    WorkflowEvent,
)
from indicators.reporting.rules import DEFAULT_DEADLINE_DAYS, deadline
from quhua.demo import DEMO_PROVINCE, DEMO_SEED, DEMO_YEARS
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import within

ACTOR = "quhua demo"
# The share of villages' reports missing, and returned, by month (1–12) of the year.
MISSING = {10: 0.02, 11: 0.05, 12: 0.12}
RETURNED = {11: 0.01, 12: 0.02}
LATE = 1 / 12
# The last month (1–12) each level approved: the province approves none.
APPROVED_TO = {Level.TOWNSHIP: 12, Level.COUNTY: 9, Level.CITY: 6}
RETURN_REASON = "births below the hospitals' register"
# Levels with something due in a quarter's last month (funding).
QUARTERLY = (Level.TOWNSHIP, Level.COUNTY)


@dataclass(frozen=True, slots=True)
class Seeded:
    reports: int
    approvals: int
    returned: int


@dataclass(frozen=True, slots=True)
class _Unit:
    id: int
    parent_id: int | None
    level: Level


class _Month:
    """One month of the cycle over the tree: acts drawn unit by unit, bottom up, then
    written in three statements (events, reports, approvals)."""

    def __init__(
        self,
        connection: Connection,
        children: dict[int | None, list[_Unit]],
        *,
        year: int,
        month: int,
        mark: int,
        rng: random.Random,
    ) -> None:
        self.connection, self.children, self.rng = connection, children, rng
        self.month, self.month_index, self.mark = month, year * 12 + month - 1, mark
        self.events: list[dict[str, Any]] = []
        # unit, submitted at, deadline, its event, the return's event
        self.reports: list[tuple[int, dt.datetime, dt.datetime, int, int | None]] = []
        self.approvals: list[tuple[int, int]] = []  # unit, its event
        self.returned = 0

    def event(self, kind: EventKind, unit_id: int, at: dt.datetime, reason: str = "") -> int:
        self.events.append(
            dict(
                at=at,
                kind=kind,
                unit_id=unit_id,
                month_index=self.month_index,
                actor=ACTOR,
                reason=reason,
                detail="{}",
            )
        )
        return len(self.events) - 1

    def _village(self, unit: _Unit, due: dt.datetime) -> dt.datetime | None:
        rng = self.rng
        if rng.random() < MISSING.get(self.month, 0.0):
            return None
        hours = rng.uniform(1, 120) if rng.random() < LATE else -rng.uniform(1, 72)
        at = due + dt.timedelta(hours=hours)
        submitted = self.event(EventKind.SUBMITTED, unit.id, at)
        returned = None
        if rng.random() < RETURNED.get(self.month, 0.0):
            later = at + dt.timedelta(hours=20)
            returned = self.event(EventKind.RETURNED, unit.id, later, RETURN_REASON)
            self.returned += 1
        self.reports.append((unit.id, at, due, submitted, returned))
        return None if returned is not None else at

    def complete(self, unit: _Unit) -> dt.datetime | None:
        """When everything of the unit's subtree was in (and approved, where its level
        approves this month); None when something is missing."""
        due = deadline(self.month_index, DEFAULT_DEADLINE_DAYS[unit.level])
        if unit.level is Level.VILLAGE:
            return self._village(unit, due)
        below = [self.complete(child) for child in self.children[unit.id]]
        if unit.level in QUARTERLY and self.month % 3 == 0:
            at = due - dt.timedelta(hours=self.rng.uniform(20, 60))
            self.reports.append(
                (unit.id, at, due, self.event(EventKind.SUBMITTED, unit.id, at), None)
            )
            below.append(at)
        if any(at is None for at in below) or self.month > APPROVED_TO.get(unit.level, 0):
            return None
        ready = max((at for at in below if at is not None), default=due)
        at = max(ready, due - dt.timedelta(days=1)) + dt.timedelta(hours=self.rng.uniform(2, 30))
        self.approvals.append((unit.id, self.event(EventKind.APPROVED, unit.id, at)))
        return at

    def write(self) -> None:
        if not self.events:
            return
        statement = insert(WorkflowEvent).returning(WorkflowEvent.id, sort_by_parameter_order=True)
        ids = list(self.connection.execute(statement, self.events).scalars())
        if self.reports:
            self.connection.execute(
                insert(Report),
                [
                    dict(
                        unit_id=unit_id,
                        month_index=self.month_index,
                        state=ReportState.SUBMITTED if returned is None else ReportState.RETURNED,
                        first_submitted_at=at,
                        deadline_at=due,
                        submitted_event_id=ids[submitted],
                        returned_event_id=None if returned is None else ids[returned],
                        audit_mark=self.mark,
                    )
                    for unit_id, at, due, submitted, returned in self.reports
                ],
            )
        if self.approvals:
            self.connection.execute(
                insert(Approval),
                [
                    dict(
                        unit_id=unit_id,
                        month_index=self.month_index,
                        approved_event_id=ids[event],
                        audit_mark=self.mark,
                        returned=False,
                    )
                    for unit_id, event in self.approvals
                ],
            )


def seed_cycle(connection: Connection, *, province: str, year: int, seed: int) -> Seeded | None:
    """Write the year's cycle for the province, unless it holds reports of that year."""
    root = connection.execute(
        select(Jurisdiction.path).where(Jurisdiction.code == province)
    ).scalar_one()
    first, last = year * 12, year * 12 + 11
    held = exists().where(
        Report.month_index.between(first, last),
        Report.unit_id == Jurisdiction.id,
        within(Jurisdiction.path, root),
    )
    if connection.execute(select(held)).scalar_one():
        return None
    children: dict[int | None, list[_Unit]] = defaultdict(list)
    top: list[_Unit] = []
    for uid, parent, level in connection.execute(
        select(Jurisdiction.id, Jurisdiction.parent_id, Jurisdiction.level)
        .where(within(Jurisdiction.path, root), Jurisdiction.valid_to.is_(None))
        .order_by(Jurisdiction.path)
    ):
        unit = _Unit(uid, parent, level)
        (top if level is Level.PROVINCE else children[parent]).append(unit)
    changes = select(func.coalesce(func.max(ValueChange.id), 0))
    mark = int(connection.execute(changes).scalar_one())
    rng = random.Random(f"{seed}:cycle")  # noqa: S311 - synthetic data, not secrets
    seeded = Seeded(0, 0, 0)
    for month in range(1, 13):
        cycle = _Month(connection, children, year=year, month=month, mark=mark, rng=rng)
        for unit in top:
            cycle.complete(unit)
        cycle.write()
        seeded = Seeded(
            seeded.reports + len(cycle.reports),
            seeded.approvals + len(cycle.approvals),
            seeded.returned + cycle.returned,
        )
    return seeded


def seed_demo_cycle(engine: Engine) -> Seeded | None:
    """The demo province's cycle of its newest demo year, once its values are in."""
    with (
        engine.connect().execution_options(**{SQLITE_WRITE: True}) as connection,
        connection.begin(),
    ):
        return seed_cycle(connection, province=DEMO_PROVINCE, year=DEMO_YEARS[0], seed=DEMO_SEED)
