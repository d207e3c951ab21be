"""Setting and removing targets: every row checked, all or nothing, every change audited.

A caller sets targets for units strictly below their grants (an operator at the command
line, for any unit): never for their own unit or one above it, which would let a unit grade
itself.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db.session import RequestSession
from core.errors import ErrorCode, shown
from indicators.audit import Author
from indicators.catalogue_index import CatalogueIndex
from indicators.periods import Period, PeriodError, PeriodType
from indicators.submission import Outcome, RowProblem, required_reason
from indicators.targets.models import Bound, Target, TargetChange
from tenancy.models import Jurisdiction
from tenancy.scope import Scope, Statement, unscoped

MAX_ROWS = 1000
# Targets one unit may have for one year: an assessment lists them all.
MAX_TARGETS = 20
MAX_FIGURE = 1e12
# Rows a multi-row INSERT carries: within SQLite's limit of bound parameters.
_CHUNK = 500
_CHECKED = "the targets' units were checked against the caller's scope"


@dataclass(frozen=True, slots=True)
class TargetRow:
    """A target to set, or (bound None) one to remove."""

    jurisdiction: str
    year: str
    indicator: str
    bound: Bound | str | None = None
    value: float | None = None
    weight: float = 1.0
    veto: bool = False
    # The file line it came from, for the audit of an import.
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Measure:
    """What a target's code names: an indicator, or a data element of the catalogue."""

    code: str
    name: str
    unit: str
    is_indicator: bool


def measure_of(index: CatalogueIndex, code: str) -> Measure:
    """The indicator or element the code names; ValueError naming what is wrong."""
    code = code.strip()
    indicator = index.indicators.get(code)
    if indicator is not None:
        return Measure(code, indicator.name, indicator.unit, True)
    element = index.elements.get(code)
    if element is not None:
        return Measure(code, element.name, "", False)
    raise ValueError(f"unknown indicator {shown(code)}: name an indicator or a data element")


def year_of(index: CatalogueIndex, text: str) -> Period:
    """The year a target is for: a calendar year (2024) or a statistical year (2024FP)."""
    period = index.period(text.strip())
    if period.type is not PeriodType.YEAR:
        raise PeriodError(
            f"{period} is a {period.kind}: a target is for a year (2024) or a statistical "
            "year (2024FP)"
        )
    return period


def year_at(month_index: int) -> Period:
    """The year a target is kept for, from its first month."""
    return Period(month_index // 12, month_index % 12 + 1, PeriodType.YEAR)


def bound_of(value: Bound | str) -> Bound:
    if isinstance(value, Bound):
        return value
    try:
        return Bound(value.strip().lower())
    except ValueError:
        raise ValueError(f"bound {shown(value)} is not AT_MOST or AT_LEAST") from None


def check_figure(name: str, value: float, *, positive: bool = False) -> float:
    """The figure as the store keeps it (six decimals); ValueError naming what is wrong."""
    if not math.isfinite(value):
        raise ValueError(f"{name} is not a number")
    if abs(value) >= MAX_FIGURE:
        raise ValueError(f"{name} {value:g} is too large")
    kept = round(float(value), 6)
    if positive and kept <= 0:
        raise ValueError(f"{name} must be above 0, not {value:g}")
    return kept


@dataclass(frozen=True, slots=True)
class _Checked:
    index: int
    unit: Jurisdiction
    period: Period
    code: str
    # None for a removal.
    bound: Bound | None
    value: float | None
    weight: float | None
    veto: bool | None
    line: int | None

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.unit.id, self.period.month_index, self.code)


# What a row says once read: (year, code, bound, value, weight); bound None for a removal.
_Read = tuple[Period, str, Bound | None, float | None, float | None]


def _static(index: CatalogueIndex, number: int, row: TargetRow, outcome: Outcome) -> _Read | None:
    """What the row says, or None after recording why it cannot be read."""
    try:
        period = year_of(index, row.year)
        code = measure_of(index, row.indicator).code
        if row.bound is None:
            return period, code, None, None, None
        bound = bound_of(row.bound)
        if row.value is None:
            raise ValueError("value: give the target's value")
        value = check_figure("value", row.value)
        weight = check_figure("weight", row.weight, positive=True)
        return period, code, bound, value, weight
    except (ValueError, PeriodError) as error:
        outcome.problems.append(RowProblem(number, ErrorCode.BAD_USER_INPUT, str(error)))
        return None


async def units_by_code(
    session: RequestSession, scope: Scope, codes: set[str]
) -> tuple[dict[str, Jurisdiction], set[str]]:
    """Units in the scope by code, and the codes that exist but lie outside it."""
    query = scope.within_scope(
        select(Jurisdiction).where(Jurisdiction.code.in_(sorted(codes))), Jurisdiction.path
    )
    found = {unit.code: unit for unit in await session.scalars(query)}
    rest = codes - set(found)
    outside: set[str] = set()
    if rest:
        exists = unscoped(
            select(Jurisdiction.code).where(Jurisdiction.code.in_(sorted(rest))),
            why="the tree's codes are public: FORBIDDEN rather than NOT_FOUND",
        )
        outside = set(await session.scalars(exists))
    return found, outside


def unit_problem(
    code: str, unit: Jurisdiction | None, outside: set[str], scope: Scope, *, operator: bool
) -> tuple[ErrorCode, str] | None:
    """Why targets cannot be set at the unit, if they cannot: it does not exist, lies outside
    the scope, or is one of the scope's own units (a grant's unit grades nobody above it)."""
    if unit is None:
        if code in outside:
            return ErrorCode.FORBIDDEN, f"{code}: its targets are outside what you may set"
        return ErrorCode.NOT_FOUND, f"no jurisdiction has code {shown(code)}"
    if not operator and any(root.path == unit.path for root in scope.roots):
        return (
            ErrorCode.FORBIDDEN,
            f"{code}: targets are set by the units above it; you may set them only for "
            "units below your own",
        )
    return None


async def _check(
    session: RequestSession,
    scope: Scope,
    index: CatalogueIndex,
    rows: Sequence[TargetRow],
    outcome: Outcome,
    *,
    operator: bool,
) -> list[_Checked]:
    static = [_static(index, number, row, outcome) for number, row in enumerate(rows)]
    units, outside = await units_by_code(session, scope, {r.jurisdiction.strip() for r in rows})
    checked: list[_Checked] = []
    seen: dict[tuple[int, int, str], int] = {}
    for number, row in enumerate(rows):
        code = row.jurisdiction.strip()
        unit = units.get(code)
        problem = unit_problem(code, unit, outside, scope, operator=operator)
        if problem is not None:
            outcome.problems.append(RowProblem(number, *problem))
            continue
        assert unit is not None
        read = static[number]
        if read is None:
            continue
        period, measure, bound, value, weight = read
        if unit.valid_to is not None and unit.valid_to <= period.start:
            outcome.problems.append(
                RowProblem(
                    number,
                    ErrorCode.BAD_USER_INPUT,
                    f"{code} was retired on {unit.valid_to}, before {period} began",
                )
            )
            continue
        entry = _Checked(
            number,
            unit,
            period,
            measure,
            bound,
            value,
            weight,
            None if bound is None else row.veto,
            row.line,
        )
        if entry.key in seen:
            earlier = rows[seen[entry.key]].line
            where = f"row {seen[entry.key]}" if earlier is None else f"line {earlier}"
            outcome.problems.append(
                RowProblem(
                    number,
                    ErrorCode.BAD_USER_INPUT,
                    f"the same target ({code}, {period}, {measure}) as {where}",
                )
            )
            continue
        seen[entry.key] = number
        checked.append(entry)
    return checked


async def _stored(
    session: RequestSession, entries: list[_Checked]
) -> dict[tuple[int, int, str], Target]:
    """The targets stored now for the entries' units and years (held until commit)."""
    query = select(Target).where(
        Target.jurisdiction_id.in_(sorted({e.unit.id for e in entries})),
        Target.month_index.in_(sorted({e.period.month_index for e in entries})),
    )
    if session.dialect == "postgresql":
        query = query.with_for_update()
    found = await session.scalars(_exempt(query))
    return {(t.jurisdiction_id, t.month_index, t.indicator): t for t in found}


def _exempt(statement: Statement) -> Statement:
    return unscoped(statement, why=_CHECKED)


def _too_many(
    entries: list[_Checked], stored: dict[tuple[int, int, str], Target]
) -> list[RowProblem]:
    """Rows that would leave a unit with more than MAX_TARGETS targets for a year."""
    codes: dict[tuple[int, int], set[str]] = defaultdict(set)
    for unit_id, month_index, code in stored:
        codes[unit_id, month_index].add(code)
    problems = []
    for entry in entries:
        held = codes[entry.unit.id, entry.period.month_index]
        if entry.bound is None:
            held.discard(entry.code)
            continue
        held.add(entry.code)
        if len(held) > MAX_TARGETS:
            problems.append(
                RowProblem(
                    entry.index,
                    ErrorCode.BAD_USER_INPUT,
                    f"{entry.unit.code} would have more than {MAX_TARGETS} targets for "
                    f"{entry.period}",
                )
            )
    return problems


async def write_targets(
    session: RequestSession,
    *,
    scope: Scope,
    index: CatalogueIndex,
    rows: Sequence[TargetRow],
    author: Author,
    reason: str,
    source: str,
    operator: bool = False,
    max_rows: int | None = MAX_ROWS,
    check_only: bool = False,
) -> Outcome:
    """Set (or, where bound is None, remove) every row's target, or none if any row is wrong.

    A target set again for the same unit, year and code replaces the one stored; removing
    one that is not stored is NOT_FOUND. `operator`: the command line, which may set targets
    for any unit of the scope, its roots included. `check_only`: report, write nothing.
    """
    outcome = Outcome()
    reason = required_reason(reason)
    if max_rows is not None and len(rows) > max_rows:
        outcome.problems.append(
            RowProblem(max_rows, ErrorCode.BAD_USER_INPUT, f"at most {max_rows} rows at once")
        )
        return outcome
    entries = await _check(session, scope, index, rows, outcome, operator=operator)
    if not outcome.ok or not entries:
        return outcome
    stored = await _stored(session, entries)
    for entry in entries:
        if entry.bound is None and entry.key not in stored:
            outcome.problems.append(
                RowProblem(
                    entry.index,
                    ErrorCode.NOT_FOUND,
                    f"{entry.unit.code} has no target of {entry.code} for {entry.period}",
                )
            )
    outcome.problems += _too_many(entries, stored)
    if not outcome.ok or check_only:
        outcome.problems.sort(key=lambda problem: problem.index)
        return outcome
    await _write(session, entries, stored, outcome, author=author, reason=reason, source=source)
    return outcome


def _state(target: Target | None) -> tuple[Bound | None, float | None, float | None, bool | None]:
    if target is None:
        return (None, None, None, None)
    return (target.bound, target.value, target.weight, target.veto)


async def _write(
    session: RequestSession,
    entries: list[_Checked],
    stored: dict[tuple[int, int, str], Target],
    outcome: Outcome,
    *,
    author: Author,
    reason: str,
    source: str,
) -> None:
    now = dt.datetime.now(dt.UTC)
    inserts: list[dict[str, Any]] = []
    removed: list[int] = []
    audit: list[dict[str, Any]] = []
    for entry in entries:
        old = stored.get(entry.key)
        was = _state(old)
        new = (entry.bound, entry.value, entry.weight, entry.veto)
        if was == new:
            outcome.unchanged += 1
            continue
        outcome.changed += 1
        if entry.bound is None:
            assert old is not None
            removed.append(old.id)
        elif old is None:
            inserts.append(
                {
                    "jurisdiction_id": entry.unit.id,
                    "month_index": entry.period.month_index,
                    "indicator": entry.code,
                    "bound": entry.bound,
                    "value": entry.value,
                    "weight": entry.weight,
                    "veto": entry.veto,
                    "updated_at": now,
                }
            )
        else:
            statement = update(Target).where(Target.id == old.id)
            await session.execute(
                _exempt(
                    statement.values(
                        bound=entry.bound,
                        value=entry.value,
                        weight=entry.weight,
                        veto=entry.veto,
                        updated_at=now,
                    )
                )
            )
        audit.append(
            {
                "at": now,
                "actor_subject_id": author.subject_id,
                "actor": author.label,
                "token_id": author.token_id,
                "issuer": author.issuer,
                "reason": reason,
                "source": source if entry.line is None else f"{source}:{entry.line}",
                "jurisdiction_id": entry.unit.id,
                "month_index": entry.period.month_index,
                "indicator": entry.code,
                **dict(zip(("old_bound", "old_value", "old_weight", "old_veto"), was, strict=True)),
                **dict(zip(("new_bound", "new_value", "new_weight", "new_veto"), new, strict=True)),
            }
        )
    if removed:
        await session.execute(_exempt(delete(Target).where(Target.id.in_(removed))))
    dialect_insert = pg_insert if session.dialect == "postgresql" else sqlite_insert
    for start in range(0, len(inserts), _CHUNK):
        chunk = inserts[start : start + _CHUNK]
        inserting = (
            dialect_insert(Target)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["jurisdiction_id", "month_index", "indicator"])
            .returning(Target.id)
        )
        if len((await session.execute(inserting)).all()) < len(chunk):
            # Another writer set one of these targets since they were read: what this
            # request was checked against no longer holds.
            outcome.problems.append(
                RowProblem(
                    0,
                    ErrorCode.CONFLICT,
                    "another writer set some of these targets meanwhile: set them again",
                )
            )
            return
    for start in range(0, len(audit), _CHUNK):
        await session.execute(insert(TargetChange).values(audit[start : start + _CHUNK]))
