"""Which values approvals lock: the rule every writer asks before it writes.

A value of a unit for a month (its period's last month: `expected.report_month`) is locked
when an active approval of that month exists at the unit or any ancestor, unless a level
above reopened that value's unit (or an ancestor) for the month after that approval was
made, until a time not yet passed. One statement serves every writer: it reads cells from
any source with `unit_id`, `month_end` and `line` columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Table,
    exists,
    func,
    literal,
    null,
    select,
)
from sqlalchemy import cast as sql_cast

from indicators.reporting.expected import month_text
from indicators.reporting.models import Approval, Reopening, WorkflowEvent
from indicators.rollups.scratch import cells
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import path_prefixes
from tenancy.scope import unscoped

J = cast(Table, Jurisdiction.__table__)
A = cast(Table, Approval.__table__).c
R = cast(Table, Reopening.__table__).c
E = cast(Table, WorkflowEvent.__table__).c
_WHY = "the writer checked its cells against its scope; approvals above them lock them"
_PATH_LENGTHS = [level.path_length for level in Level]


@dataclass(frozen=True, slots=True)
class Lock:
    line: int | None
    unit: str
    month_index: int
    approved_by_unit: str
    approved_by_name: str
    approved_at: dt.datetime
    approved_by_path: str

    @property
    def message(self) -> str:
        at = self.approved_at
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        return (
            f"{self.unit} {month_text(self.month_index)} is locked: approved by "
            f"{self.approved_by_unit} ({self.approved_by_name}) at {at.isoformat()}; "
            "a level above must reopen it"
        )


def _ancestor_or_self(table: Any, unit_path: ColumnElement[str]) -> ColumnElement[bool]:
    return cast(ColumnElement[bool], table.c.path.in_(path_prefixes(unit_path, _PATH_LENGTHS)))


def locks_of(source: FromClause, *, now: dt.datetime, limit: int) -> Select[*tuple[Any, ...]]:
    """The locked cells among the source's (unit_id, month_end, line) rows, with the
    approval that locks each (the first found), at most `limit` rows."""
    unit, approving, reopened_unit = J.alias("unit"), J.alias("approving"), J.alias("reopened")
    s = source.c
    reopened = (
        exists()
        .where(
            R.month_index == s.month_end,
            R.until > now,
            R.opened_at >= E.at,
            R.unit_id == reopened_unit.c.id,
        )
        .where(_ancestor_or_self(reopened_unit, unit.c.path))
    )
    statement = (
        select(
            *(s.line, unit.c.code, s.month_end, approving.c.code, approving.c.name, E.at),
            approving.c.path,
        )
        .select_from(source)
        .join(unit, unit.c.id == s.unit_id)
        .join(approving, _ancestor_or_self(approving, unit.c.path))
        .join(
            cast(Table, Approval.__table__),
            (A.unit_id == approving.c.id)
            & (A.month_index == s.month_end)
            & A.withdrawn_event_id.is_(None),
        )
        .join(cast(Table, WorkflowEvent.__table__), E.id == A.approved_event_id)
        .where(~reopened)
        .order_by(s.line, unit.c.code)
        .limit(limit)
    )
    return unscoped(statement, why=_WHY)


def as_locks(rows: Any) -> list[Lock]:
    return [Lock(*row) for row in rows]


def written_cells() -> FromClause:
    """The cells a write is about to change (the roll-up upkeep's `rollup_cells`), as the
    source `locks_of` reads."""
    c = cells.c
    month_end = (c.month_index + c.element_span - 1).label("month_end")
    return select(c.unit_id, month_end, c.line).distinct().subquery("written")


def written_months() -> Select[*tuple[Any, ...]]:
    """The first and last months the written cells' reports fall in."""
    c = cells.c
    return select(func.min(c.month_index), func.max(c.month_index + c.element_span - 1))


def approvals_between(first: int, last: int) -> Select[*tuple[Any, ...]]:
    """Whether any approval of those months is active: when none is, nothing is locked and
    the join over every written cell is not needed."""
    statement = (
        select(A.id)
        .where(A.month_index.between(first, last), A.withdrawn_event_id.is_(None))
        .limit(1)
    )
    return unscoped(statement, why="whether approvals exist at all is no unit's data")


def one_cell(unit_id: int, month_index: int) -> FromClause:
    """One unit's month as the source `locks_of` reads."""
    return select(
        literal(unit_id).label("unit_id"),
        literal(month_index).label("month_end"),
        sql_cast(null(), Integer).label("line"),
    ).subquery("asked")
