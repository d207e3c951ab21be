"""Keeping violations true where values changed: the rules re-evaluated for the units and
periods a write touched, new failures stored, fixed ones resolved, in a few statements
whatever the number of units (`steps.py` runs them on a session or a connection).

A write's cells are (unit, month) pairs. Each rule is evaluated at each cell's unit and at
its ancestors (their figures moved with it) where the rule applies at that level, for the
rule's period that holds the month. Figures are those the roll-up reads: a village's own
stored values combined over the period by each element's time aggregation, a unit above
from the store of its subtree's totals. A term is missing where no unit of the subtree
reported its element for the period (as an aggregate's null), which is what the rule's
missing-value strategy looks at.

Fixed violations are marked resolved (`resolved_at`), never deleted; a failing rule whose
values changed keeps its `found_at` and gets the new values.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Table, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db.session import RequestSession
from indicators.catalogue_index import CatalogueIndex
from indicators.formulas import LinearForm, parse_formula
from indicators.models import DataElement, DataValue, OptionCombo
from indicators.periods import Period, PeriodType
from indicators.rollups.contributions import contributions
from indicators.rollups.evaluation import ElementPlan, Figures, term_combos
from indicators.rollups.models import LEAF, Rollup, RollupReport
from indicators.validation.judging import Failure, judge
from indicators.validation.models import ValidationRule, ValidationViolation
from indicators.validation.rules import Importance, RuleInfo, default_levels
from indicators.validation.steps import Steps, run_async, run_sync
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import path_codes
from tenancy.scope import unscoped

CHECKED = "the writer checked the units against its caller's scope; ancestors' checks are theirs"
# Ids in one IN list, and rows in one INSERT: within every database's limit of parameters.
CHUNK = 900
INSERT_ROWS = 200
J = cast(Table, Jurisdiction.__table__).c
V = cast(Table, DataValue.__table__).c
C = cast(Table, OptionCombo.__table__).c
VV = cast(Table, ValidationViolation.__table__)
X = TypeVar("X")
_BY_SPAN = {period_type.months: period_type for period_type in PeriodType}


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule failing at a unit for a period, with both sides' values."""

    id: int
    rule: RuleInfo
    unit_id: int
    unit_code: str
    unit_level: Level
    period: Period
    left_value: float | None
    right_value: float | None
    found_at: dt.datetime
    resolved_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Refreshed:
    """The open violations of the cells asked, and what the refresh changed."""

    open: list[Violation]
    found: int
    resolved: int
    # (rule, unit, period) evaluated
    evaluated: int


@dataclass(frozen=True, slots=True)
class _Unit:
    id: int
    code: str
    level: Level
    path: str


Key = tuple[int, int, int, int]  # rule id, unit id, span, period start


def period_of(span: int, month_index: int) -> Period:
    """The period `span` months long that starts at the month index."""
    return Period(month_index // 12, month_index % 12 + 1, _BY_SPAN[span])


def _chunks(items: Sequence[X], size: int = CHUNK) -> Iterator[Sequence[X]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_RULES = select(
    ValidationRule.id,
    ValidationRule.code,
    ValidationRule.name,
    ValidationRule.description,
    ValidationRule.left_side,
    ValidationRule.right_side,
    ValidationRule.operator,
    ValidationRule.importance,
    ValidationRule.period_type,
    ValidationRule.levels,
    ValidationRule.missing_value_strategy,
).order_by(ValidationRule.code)


def load_rules(index: CatalogueIndex) -> Steps[list[RuleInfo]]:
    """Every stored rule, its sides read against the catalogue, its levels resolved."""
    shapes = {code: info.categories for code, info in index.elements.items()}
    reported = {code: tuple(info.reported_at) for code, info in index.elements.items()}
    rules = []
    for row in (yield _RULES):
        rule_id, code, name, description, left, right, operator, importance = row[:8]
        period_type, levels, strategy = row[8:]
        sides: list[LinearForm] = [parse_formula(left, shapes), parse_formula(right, shapes)]
        elements = sorted(sides[0].elements | sides[1].elements)
        written = {Level(level) for level in levels.split(",") if level}
        rules.append(
            RuleInfo(
                id=rule_id,
                code=code,
                name=name,
                description=description,
                left=sides[0],
                right=sides[1],
                operator=operator,
                importance=importance,
                period_type=PeriodType(period_type),
                levels=frozenset(written or default_levels(elements, reported)),
                strategy=strategy,
            )
        )
    return rules


def _units(ids: Sequence[int]) -> Steps[dict[int, _Unit]]:
    found: dict[int, _Unit] = {}
    for chunk in _chunks(ids):
        statement = select(J.id, J.code, J.level, J.path).where(J.id.in_(chunk))
        for row in (yield unscoped(statement, why=CHECKED)):
            found[row[0]] = _Unit(row[0], row[1], Level(row[2]), row[3])
    return found


def _ancestors(units: Iterable[_Unit]) -> Steps[dict[str, _Unit]]:
    """Every unit above the units, by path."""
    paths = sorted(
        {
            "/".join(codes[:depth]) + "/"
            for unit in units
            for codes in [path_codes(unit.path)]
            for depth in range(1, len(codes))
        }
    )
    found: dict[str, _Unit] = {}
    for chunk in _chunks(paths):
        statement = select(J.id, J.code, J.level, J.path).where(J.path.in_(chunk))
        for row in (yield unscoped(statement, why=CHECKED)):
            found[row[3]] = _Unit(row[0], row[1], Level(row[2]), row[3])
    return found


def _own_contributions(
    span: int, units: Sequence[int], starts: Sequence[int], combos: Sequence[int]
) -> Any:
    """(unit, combo, start, contribution) of the units' own values, each combined over
    buckets of the span by its element's time aggregation."""
    if span == 1:
        # A month holds one value per combo: summed, averaged or the latest, it is itself.
        plain = select(V.jurisdiction_id, V.combo_id, V.month_index, V.value).where(
            V.jurisdiction_id.in_(units), V.combo_id.in_(combos), V.month_index.in_(starts)
        )
        return unscoped(plain, why=CHECKED)
    scan = (
        select(
            V.jurisdiction_id.label("unit_id"),
            V.combo_id,
            literal(span).label("span"),
            (V.month_index - V.month_index % span).label("start"),
            V.month_index,
            V.value,
            DataElement.time_aggregation.label("aggregation"),
        )
        .join(OptionCombo, C.id == V.combo_id)
        .join(DataElement, DataElement.id == C.element_id)
        .where(
            V.jurisdiction_id.in_(units),
            V.combo_id.in_(combos),
            V.month_index >= min(starts),
            V.month_index < max(starts) + span,
        )
        .subquery()
    )
    own = contributions(scan).subquery()
    statement = select(own.c.unit_id, own.c.combo_id, own.c.start, own.c.contribution)
    return unscoped(statement, why=CHECKED)


def _read(
    index: CatalogueIndex,
    figures: dict[tuple[int, int, int], Figures],
    groups: dict[tuple[int, bool], tuple[set[int], set[int], set[int]]],
) -> Steps[None]:
    """Fill the figures of every (unit, span, start) asked, group by group."""
    elements = {info.id: info for info in index.elements.values()}
    for (span, leaf), (unit_set, start_set, element_ids) in sorted(groups.items()):
        starts = sorted(start_set)
        combos = sorted(
            combo for element in element_ids for combo in elements[element].combos.values()
        )
        for units in _chunks(sorted(unit_set)):
            if leaf:
                rows = yield _own_contributions(span, units, starts, combos)
                for unit_id, combo_id, start, amount in rows:
                    found = figures.get((unit_id, span, start))
                    if found is None or amount is None:
                        continue
                    found.totals[combo_id] = float(amount)
                    found.reports[index.by_combo[combo_id][0].id] = 1
                continue
            totals = select(Rollup.unit_id, Rollup.month_index, Rollup.combo_id, Rollup.total)
            totals = totals.where(
                Rollup.unit_id.in_(units),
                Rollup.span == span,
                Rollup.month_index.in_(starts),
                Rollup.combo_id.in_(combos),
            )
            for unit_id, start, combo_id, total in (yield unscoped(totals, why=CHECKED)):
                if (found := figures.get((unit_id, span, start))) is not None:
                    found.totals[combo_id] = float(total)
            reports = select(
                RollupReport.unit_id,
                RollupReport.month_index,
                RollupReport.element_id,
                RollupReport.units,
            ).where(
                RollupReport.unit_id.in_(units),
                RollupReport.span == span,
                RollupReport.month_index.in_(starts),
                RollupReport.element_id.in_(sorted(element_ids)),
            )
            for unit_id, start, element_id, count in (yield unscoped(reports, why=CHECKED)):
                if (found := figures.get((unit_id, span, start))) is not None:
                    found.reports[element_id] = int(count)


# Each term: its element's id, its combos, its coefficient, whether the period can read it.
Side = list[tuple[int, tuple[int, ...], int, bool]]


def _side(index: CatalogueIndex, form: LinearForm, period: Period) -> Side:
    side = []
    for term, coefficient in form.terms:
        element = index.elements[term.element]
        plan = ElementPlan.of(element, term_combos(element, term), period)
        side.append((element.id, plan.combos, coefficient, plan.unreadable is None))
    return side


def _values(side: Side, found: Figures) -> list[tuple[int, float | None]]:
    """Each term's coefficient and value: None, as an aggregate's null, where the period
    cannot read the element or no unit of the subtree reported it (ElementPlan)."""
    totals, reports = found.totals, found.reports
    return [
        (
            coefficient,
            sum(totals.get(combo, 0.0) for combo in combos)
            if readable and reports.get(element_id)
            else None,
        )
        for element_id, combos, coefficient, readable in side
    ]


@dataclass(slots=True)
class _Plan:
    """Every (rule, unit, start) to evaluate, and what must be read for it."""

    targets: dict[Key, RuleInfo]
    figures: dict[tuple[int, int, int], Figures]
    # (span, leaf level) → units, starts, element ids
    groups: dict[tuple[int, bool], tuple[set[int], set[int], set[int]]]


def _plan(
    index: CatalogueIndex,
    rules: Sequence[RuleInfo],
    asked: dict[int, set[int]],
    units: dict[int, _Unit],
    above: dict[str, _Unit],
) -> _Plan:
    plan = _Plan({}, {}, {})
    rule_elements = {rule.id: {index.elements[c].id for c in rule.elements} for rule in rules}
    for unit_id, months in asked.items():
        unit = units.get(unit_id)
        if unit is None:
            continue
        codes = path_codes(unit.path)
        chain = [unit] + [
            above[path]
            for depth in range(1, len(codes))
            if (path := "/".join(codes[:depth]) + "/") in above
        ]
        for rule in rules:
            span = rule.span
            for member in (m for m in chain if m.level in rule.levels):
                group = plan.groups.setdefault((span, member.level == LEAF), (set(), set(), set()))
                group[0].add(member.id)
                group[2].update(rule_elements[rule.id])
                for start in {month - month % span for month in months}:
                    plan.targets[rule.id, member.id, span, start] = rule
                    plan.figures.setdefault((member.id, span, start), Figures())
                    group[1].add(start)
    return plan


def _evaluate(index: CatalogueIndex, plan: _Plan) -> dict[Key, Failure]:
    """The failing targets, from their figures."""
    failing: dict[Key, Failure] = {}
    sides: dict[tuple[int, int], tuple[Side, Side]] = {}
    for key, rule in plan.targets.items():
        _, unit_id, span, start = key
        both = sides.get((rule.id, start))
        if both is None:
            period = period_of(span, start)
            both = sides[rule.id, start] = (
                _side(index, rule.left, period),
                _side(index, rule.right, period),
            )
        found = plan.figures[unit_id, span, start]
        if not found.reports:
            continue  # nothing reported there: no rule has anything to check
        failure = judge(rule, _values(both[0], found), _values(both[1], found))
        if failure is not None:
            failing[key] = failure
    return failing


def refresh_steps(
    index: CatalogueIndex,
    cells: Iterable[tuple[int, int]],
    *,
    dialect: str,
    rules: Sequence[RuleInfo] | None = None,
    ancestors: bool = True,
) -> Steps[Refreshed]:
    """Re-evaluate the rules (every stored one unless given) at the cells' units (and, with
    `ancestors`, the units above them) for the periods holding the cells' months; store
    new failures, resolve fixed ones. Returns the cells' open violations."""
    asked: dict[int, set[int]] = defaultdict(set)
    for unit_id, month_index in cells:
        asked[unit_id].add(month_index)
    if rules is None:
        rules = yield from load_rules(index)
    if not asked or not rules:
        return Refreshed([], 0, 0, 0)
    units = yield from _units(sorted(asked))
    # The units above matter only where some rule applies higher than a unit asked.
    highest = min((level.depth for rule in rules for level in rule.levels), default=0)
    higher = any(unit.level.depth > highest for unit in units.values())
    above = (yield from _ancestors(units.values())) if ancestors and higher else {}
    by_id = {unit.id: unit for unit in [*units.values(), *above.values()]}
    plan = _plan(index, rules, asked, units, above)
    yield from _read(index, plan.figures, plan.groups)
    failing = _evaluate(index, plan)
    stored = yield from _stored(plan.targets, [rule.id for rule in rules])
    ids = yield from _write(failing, stored, dialect)
    by_rule = {rule.id: rule for rule in rules}
    open_violations = []
    for key, failure in failing.items():
        rule_id, unit_id, span, start = key
        months = asked.get(unit_id)
        if not months or not any(start <= m < start + span for m in months):
            continue
        unit = by_id[unit_id]
        violation_id, found_at = ids[key]
        open_violations.append(
            Violation(
                id=violation_id,
                rule=by_rule[rule_id],
                unit_id=unit_id,
                unit_code=unit.code,
                unit_level=unit.level,
                period=period_of(span, start),
                left_value=failure.left,
                right_value=failure.right,
                found_at=found_at,
            )
        )
    open_violations.sort(key=lambda v: (v.unit_code, v.period, v.rule.code))
    new = sum(1 for key in failing if key not in stored)
    resolved = sum(1 for key in stored if key not in failing)
    return Refreshed(open_violations, new, resolved, len(plan.targets))


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    left: float | None
    right: float | None
    found_at: dt.datetime


def _stored(targets: dict[Key, RuleInfo], rule_ids: list[int]) -> Steps[dict[Key, _Stored]]:
    """The open violations stored for the targets."""
    unit_ids = sorted({key[1] for key in targets})
    starts = sorted({key[3] for key in targets})
    found: dict[Key, _Stored] = {}
    c = VV.c
    for chunk in _chunks(unit_ids):
        statement = select(
            c.id,
            c.rule_id,
            c.jurisdiction_id,
            c.span,
            c.month_index,
            c.left_value,
            c.right_value,
            c.found_at,
        ).where(
            c.resolved_at.is_(None),
            c.jurisdiction_id.in_(chunk),
            c.rule_id.in_(sorted(rule_ids)),
            c.month_index.in_(starts),
        )
        for row in (yield unscoped(statement, why=CHECKED)):
            key = (row[1], row[2], row[3], row[4])
            if key in targets:
                found[key] = _Stored(row[0], row[5], row[6], row[7])
    return found


def _write(
    failing: dict[Key, Failure], stored: dict[Key, _Stored], dialect: str
) -> Steps[dict[Key, tuple[int, dt.datetime]]]:
    """Resolve the stored violations that no longer fail, replace those whose values
    changed (keeping when they were found), insert the new; each failing key's id and
    time found."""
    now = dt.datetime.now(dt.UTC)
    c = VV.c
    resolved = sorted(s.id for key, s in stored.items() if key not in failing)
    for chunk in _chunks(resolved):
        yield unscoped(update(VV).where(c.id.in_(chunk)).values(resolved_at=now), why=CHECKED)
    changed = {
        key: s
        for key, s in stored.items()
        if key in failing and (s.left, s.right) != (failing[key].left, failing[key].right)
    }
    for chunk in _chunks(sorted(s.id for s in changed.values())):
        yield unscoped(delete(VV).where(c.id.in_(chunk)), why=CHECKED)
    ids = {key: (s.id, s.found_at) for key, s in stored.items() if key in failing}
    rows = [
        {
            "rule_id": key[0],
            "jurisdiction_id": key[1],
            "span": key[2],
            "month_index": key[3],
            "left_value": failure.left,
            "right_value": failure.right,
            "found_at": changed[key].found_at if key in changed else now,
        }
        for key, failure in failing.items()
        if key not in stored or key in changed
    ]
    for batch in _chunks(rows, INSERT_ROWS):
        # A writer of another unit below the same ancestor may have stored the same
        # failure a moment before: theirs stands.
        statement = (
            (pg_insert if dialect == "postgresql" else sqlite_insert)(VV)
            .values(list(batch))
            .on_conflict_do_nothing()
            .returning(c.id, c.rule_id, c.jurisdiction_id, c.span, c.month_index, c.found_at)
        )
        for row in (yield statement):
            ids[row[1], row[2], row[3], row[4]] = (row[0], row[5])
    lost = [key for key in failing if key not in ids]
    for chunk in _chunks(sorted({key[1] for key in lost})):
        theirs = select(
            c.id, c.rule_id, c.jurisdiction_id, c.span, c.month_index, c.found_at
        ).where(c.resolved_at.is_(None), c.jurisdiction_id.in_(chunk))
        for row in (yield unscoped(theirs, why=CHECKED)):
            ids.setdefault((row[1], row[2], row[3], row[4]), (row[0], row[5]))
    return ids


async def refresh_violations(
    session: RequestSession, index: CatalogueIndex, cells: Iterable[tuple[int, int]]
) -> list[Violation]:
    """Re-evaluate every rule where the cells' values (unit id, month index) changed, in
    the caller's transaction after the values were written; the cells' open violations."""
    steps = refresh_steps(index, cells, dialect=session.dialect)
    return (await run_async(session, steps)).open


def refresh_violations_sync(
    connection: Connection, index: CatalogueIndex, cells: Iterable[tuple[int, int]]
) -> list[Violation]:
    """The same, on a command's connection (an import of values)."""
    steps = refresh_steps(index, cells, dialect=connection.dialect.name)
    return run_sync(connection, steps).open


async def blocking_violations(
    session: RequestSession, index: CatalogueIndex, unit_id: int, month_index: int
) -> list[Violation]:
    """The unit's open HIGH violations of the periods holding the month, evaluated afresh:
    what refuses its report."""
    steps = refresh_steps(index, [(unit_id, month_index)], dialect=session.dialect, ancestors=False)
    refreshed = await run_async(session, steps)
    return [v for v in refreshed.open if v.rule.importance is Importance.HIGH]
