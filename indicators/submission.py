"""Submitting and deleting values: every row checked, all or nothing, every change audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Executable, Integer, delete, insert, null, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db.session import RequestSession
from core.errors import BadUserInput, ErrorCode, shown
from indicators.audit import Author, open_change_set
from indicators.catalogue_index import (
    CatalogueIndex,
    ElementInfo,
    current_elements,
    stale_elements,
)
from indicators.feed.clock import stamp_statements
from indicators.models import DataValue, ValueChange
from indicators.periods import Period, PeriodError
from indicators.reporting import events
from indicators.reporting.expected import report_month
from indicators.reporting.locks import (
    approvals_between,
    as_locks,
    locks_of,
    written_cells,
    written_months,
)
from indicators.rollups.lifting import apply_statements
from indicators.rollups.maintenance import (
    AFTER,
    BEFORE,
    cells_from,
    lock_units,
    units_of,
)
from indicators.rollups.scratch import changes, create_statements
from indicators.telemetry import upkeep_phase
from indicators.validation.refresh import Violation, refresh_violations
from tenancy.models import Jurisdiction
from tenancy.scope import Scope, Statement, unscoped

MAX_ROWS = 1000
REASON_MAX_LENGTH = 1000


@dataclass(frozen=True, slots=True)
class ValueRow:
    jurisdiction: str
    element: str
    period: str
    disaggregation: str = ""
    # None for a deletion.
    value: float | None = None
    # When given, the value the caller believes is stored (None: "nothing stored").
    expected: float | None = None
    check_expected: bool = False


@dataclass(frozen=True, slots=True)
class RowProblem:
    index: int
    code: ErrorCode
    message: str


@dataclass(slots=True)
class Outcome:
    problems: list[RowProblem] = field(default_factory=list)
    changed: int = 0
    unchanged: int = 0
    # The validation rules failing at the rows' units and months once written: warnings
    # (indicators/validation).
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class _Cell:
    index: int
    unit: Jurisdiction
    element: ElementInfo
    combo_id: int
    period: Period
    row: ValueRow


def _check_rows(
    index: CatalogueIndex, rows: list[ValueRow], outcome: Outcome
) -> list[tuple[int, ElementInfo, int, Period] | None]:
    checked: list[tuple[int, ElementInfo, int, Period] | None] = []
    for number, row in enumerate(rows):
        try:
            element = index.element(row.element)
            period = element.period(row.period)
            key = element.combo_key(row.disaggregation)
            if row.value is not None:
                element.check_value(row.value)
            checked.append((number, element, element.combos[key], period))
        except (ValueError, PeriodError, KeyError) as error:
            outcome.problems.append(RowProblem(number, ErrorCode.BAD_USER_INPUT, str(error)))
            checked.append(None)
    return checked


async def _units(
    session: RequestSession, scope: Scope, codes: set[str]
) -> tuple[dict[str, Jurisdiction], set[str]]:
    """Units in the scope by code, and the codes that exist but lie outside it."""
    query = scope.within_scope(
        select(Jurisdiction).where(Jurisdiction.code.in_(codes)), Jurisdiction.path
    )
    found = {unit.code: unit for unit in await session.scalars(query)}
    rest = codes - set(found)
    outside: set[str] = set()
    if rest:
        exists = unscoped(
            select(Jurisdiction.code).where(Jurisdiction.code.in_(rest)),
            why="the tree's codes are public: FORBIDDEN rather than NOT_FOUND",
        )
        outside = set(await session.scalars(exists))
    return found, outside


async def _cells(
    session: RequestSession,
    scope: Scope,
    index: CatalogueIndex,
    rows: list[ValueRow],
    outcome: Outcome,
) -> list[_Cell]:
    if len(rows) > MAX_ROWS:
        outcome.problems.append(
            RowProblem(MAX_ROWS, ErrorCode.BAD_USER_INPUT, f"at most {MAX_ROWS} rows at once")
        )
        return []
    checked = _check_rows(index, rows, outcome)
    units, outside = await _units(session, scope, {row.jurisdiction.strip() for row in rows})
    cells: list[_Cell] = []
    seen: dict[tuple[int, int, int], int] = {}
    for number, row in enumerate(rows):
        code = row.jurisdiction.strip()
        unit = units.get(code)
        if unit is None:
            if code in outside:
                outcome.problems.append(
                    RowProblem(
                        number,
                        ErrorCode.FORBIDDEN,
                        f"jurisdiction {code} is outside what you may report for",
                    )
                )
            else:
                outcome.problems.append(
                    RowProblem(
                        number, ErrorCode.NOT_FOUND, f"no jurisdiction has code {shown(code)}"
                    )
                )
            continue
        found = checked[number]
        if found is None:
            continue
        _, element, combo_id, period = found
        if unit.valid_to is not None and period.start >= unit.valid_to and row.value is not None:
            # Its history stays correctable: only periods begun after it was retired are
            # closed to new figures. A value stored there before a backdated retirement can
            # still be deleted.
            outcome.problems.append(
                RowProblem(
                    number,
                    ErrorCode.BAD_USER_INPUT,
                    f"{code} was retired on {unit.valid_to}, before {period} began",
                )
            )
            continue
        if unit.level not in element.reported_at:
            levels = " and ".join(sorted(level.value for level in element.reported_at))
            outcome.problems.append(
                RowProblem(
                    number,
                    ErrorCode.BAD_USER_INPUT,
                    f"{element.code} is reported by {levels} units; {code} is a {unit.level.value}",
                )
            )
            continue
        key = (unit.id, combo_id, period.month_index)
        if key in seen:
            outcome.problems.append(
                RowProblem(number, ErrorCode.BAD_USER_INPUT, f"the same value as row {seen[key]}")
            )
            continue
        seen[key] = number
        cells.append(_Cell(number, unit, element, combo_id, period, row))
    return cells


async def _stored(session: RequestSession, cell: _Cell) -> DataValue | None:
    query = select(DataValue).where(
        DataValue.jurisdiction_id == cell.unit.id,
        DataValue.combo_id == cell.combo_id,
        DataValue.month_index == cell.period.month_index,
    )
    # On PostgreSQL the row stays locked until commit: a racing writer waits, then sees ours.
    return await session.scalar(_checked(query.with_for_update()))


def _checked(statement: Statement) -> Statement:
    return unscoped(statement, why="the cell's unit was checked against the caller's scope")


def required_reason(reason: str) -> str:
    """The reason the audit keeps with a change set; BAD_USER_INPUT naming the argument if
    it is blank (or only spaces) or too long. Nothing is written without a reason."""
    reason = reason.strip()
    if not reason:
        raise BadUserInput("reason: say why, for the audit trail")
    if len(reason) > REASON_MAX_LENGTH:
        raise BadUserInput(f"reason: at most {REASON_MAX_LENGTH} characters")
    return reason


async def write_values(
    session: RequestSession,
    *,
    scope: Scope,
    index: CatalogueIndex,
    rows: list[ValueRow],
    author: Author,
    reason: str,
    source: str,
) -> Outcome:
    """Store (or, where value is None, delete) every row, or none if any row is wrong."""
    outcome = Outcome()
    reason = required_reason(reason)
    cells = await _cells(session, scope, index, rows, outcome)
    if not outcome.ok:
        return outcome
    for statement in create_statements(session.dialect):
        await session.execute(statement)
    # Writers to one unit take turns, so that each measures its buckets after the last.
    await session.execute(_checked(lock_units(sorted({cell.unit.id for cell in cells}))))
    # A catalogue change waits for writers holding units and holds new ones there: what
    # was checked against the catalogue read before must still hold.
    current = await session.rows(current_elements(cell.element.id for cell in cells))
    stale = stale_elements(index, [tuple(row) for row in current])
    if stale:
        outcome.problems.append(
            RowProblem(
                0,
                ErrorCode.CONFLICT,
                f"the catalogue changed while this was checked ({', '.join(stale)}): submit again",
            )
        )
        return outcome
    plans = await _plan(session, cells, outcome)
    if not outcome.ok:
        return outcome
    changing = [
        {
            "unit_id": c.unit.id,
            "combo_id": c.combo_id,
            "month_index": c.period.month_index,
            # The units are locked: what _plan read stays what is stored until we write.
            "old": stored.value if stored else None,
            "new": c.row.value,
        }
        for c, stored in plans
        if (stored.value if stored else None) != c.row.value
    ]
    if changing:
        await session.execute(insert(changes).values(changing))
        x = changes.c
        none = sql_cast(null(), Integer)
        listed = select(x.unit_id, x.combo_id, x.month_index, x.old, x.new, none, none)
        await session.execute(cells_from(units_of(listed)))
        if await _refused_for_locks(session, plans, outcome):
            return outcome
        with upkeep_phase("before"):
            await _run(session, BEFORE)
    change_set = await _write(session, plans, outcome, author=author, reason=reason, source=source)
    if changing:
        with upkeep_phase("after"):
            await _run(session, [*AFTER, *apply_statements(session.dialect)])
    # Every row's unit and month, changed or not: the answer warns of what fails there.
    touched = sorted({(cell.unit.id, cell.period.month_index) for cell in cells})
    outcome.violations = await refresh_violations(session, index, touched)
    if change_set is not None:
        # At the commit: the feed's clock stays locked from there to the commit only, not
        # through a batch's later operations.
        session.before_commit(stamp_statements(change_set))
    return outcome


async def _refused_for_locks(
    session: RequestSession, plans: list[tuple[_Cell, DataValue | None]], outcome: Outcome
) -> bool:
    """LOCKED for each row whose value approvals lock (see indicators.reporting.locks)."""
    first, last = (await session.rows(written_months()))[0]
    if first is None or not await session.rows(approvals_between(first, last)):
        return False
    rows = {
        (cell.unit.code, report_month(cell.element, cell.period.month_index)): cell.index
        for cell, _ in plans
    }
    statement = locks_of(written_cells(), now=events.utc_now(), limit=MAX_ROWS)
    for lock in as_locks(await session.rows(statement)):
        index = rows.get((lock.unit, lock.month_index), 0)
        outcome.problems.append(RowProblem(index, ErrorCode.LOCKED, lock.message))
    outcome.problems.sort(key=lambda problem: problem.index)
    return not outcome.ok


async def _run(session: RequestSession, statements: list[Executable]) -> None:
    for statement in statements:
        await session.execute(statement)


async def _plan(
    session: RequestSession, cells: list[_Cell], outcome: Outcome
) -> list[tuple[_Cell, DataValue | None]]:
    """Each cell with what is stored for it now; CONFLICT where the caller expected otherwise."""
    plans: list[tuple[_Cell, DataValue | None]] = []
    for cell in cells:
        stored = await _stored(session, cell)
        current = stored.value if stored else None
        if cell.row.check_expected and current != cell.row.expected:
            shown = "nothing" if current is None else f"{current:g}"
            outcome.problems.append(
                RowProblem(
                    cell.index, ErrorCode.CONFLICT, f"{shown} is stored now, not what you expected"
                )
            )
        plans.append((cell, stored))
    return plans


async def _write(
    session: RequestSession,
    plans: list[tuple[_Cell, DataValue | None]],
    outcome: Outcome,
    *,
    author: Author,
    reason: str,
    source: str,
) -> int | None:
    """Write each row's value and audit it; returns the change set (None: nothing changed)."""
    now = dt.datetime.now(dt.UTC)
    change_set: int | None = None
    for cell, stored in plans:
        old = stored.value if stored else None
        new = cell.row.value
        if old == new:
            outcome.unchanged += 1
            continue
        if new is None:
            assert stored is not None
            await session.execute(_checked(delete(DataValue).where(DataValue.id == stored.id)))
        elif stored is None:
            old = await _insert(session, cell, new, now)
        else:
            await _set(session, stored.id, new, now)
        if old == new:
            outcome.unchanged += 1
            continue
        if change_set is None:
            opened = open_change_set(
                at=now,
                actor_subject_id=author.subject_id,
                actor=author.label,
                reason=reason,
                source=source,
                token_id=author.token_id,
                issuer=author.issuer,
            )
            change_set = (await session.execute(opened)).scalar_one()
        await session.execute(
            insert(ValueChange).values(
                change_set_id=change_set,
                jurisdiction_id=cell.unit.id,
                combo_id=cell.combo_id,
                month_index=cell.period.month_index,
                old_value=old,
                new_value=new,
            )
        )
        outcome.changed += 1
    return change_set


async def _insert(
    session: RequestSession, cell: _Cell, value: float, now: dt.datetime
) -> float | None:
    """Insert a new value; if a racing writer inserted it first, update theirs instead.

    Returns the value that was stored before (None when this insert created it).
    """
    dialect_insert = pg_insert if session.dialect == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(DataValue)
        .values(
            jurisdiction_id=cell.unit.id,
            combo_id=cell.combo_id,
            month_index=cell.period.month_index,
            value=value,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["jurisdiction_id", "combo_id", "month_index"])
        .returning(DataValue.id)
    )
    if (await session.execute(statement)).first() is not None:
        return None
    stored = await _stored(session, cell)
    assert stored is not None
    old = stored.value
    await _set(session, stored.id, value, now)
    return old


async def _set(session: RequestSession, value_id: int, value: float, now: dt.datetime) -> None:
    statement = update(DataValue).where(DataValue.id == value_id)
    await session.execute(_checked(statement.values(value=value, updated_at=now)))
