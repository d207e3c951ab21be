"""Reading the store for many units and periods at once: a few statements, whatever the count.

The callers pass units they have already checked against the caller's scope: a unit's
aggregate covers its whole subtree, which lies inside any scope that holds the unit.
Units of the deepest level are not in the store: their figures come from their own stored
values, at most a year of them per combo.

Nor does the store keep statistical years that start in another month than January
(`2024FP`, from October): a summed element's total is the sum of the store's quarters and
months that tile the year; everything that depends on each unit's own values over the whole
year (an average, a latest value, whether it reported at all) is measured from the values
of the unit's subtree, one index seek or short range per unit, combo and year, by the same
definitions the store is kept by (`contributions.py`). Only the elements asked are read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Select,
    Table,
    and_,
    func,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.sql import ColumnElement

from core.db.session import RequestSession
from core.db.statements import point_read
from indicators.models import DataElement, DataValue, OptionCombo, TimeAggregation
from indicators.periods import PeriodType
from indicators.rollups.contributions import bucket_contribution, contributions, element_span
from indicators.rollups.evaluation import Figures, UnitBucket
from indicators.rollups.models import LEAF, Rollup, RollupReport
from tenancy.levels import Level
from tenancy.models import Jurisdiction, SubtreeSize
from tenancy.paths import within
from tenancy.scope import unscoped

_CHECKED = "the units were checked against the caller's scope; their subtrees lie inside it"
V = cast(Table, DataValue.__table__).c
C = cast(Table, OptionCombo.__table__).c
E = cast(Table, DataElement.__table__).c
J = cast(Table, Jurisdiction.__table__)
# The store's spans, longest first: how a bucket it does not keep is tiled by ones it keeps.
# Store rows of at most this many unit-months (each a row per option combination and per
# element: a few hundred with a catalogue's combinations) are a point read
# (core.db.statements): a unit's months of a year, not a grid's units.
FEW_UNIT_MONTHS = 12

_LONGEST_FIRST = sorted({period_type.months for period_type in PeriodType}, reverse=True)

# (span, first month in the span's cycle) → (unit ids, bucket starts)
Wanted = dict[tuple[int, int], tuple[set[int], set[int]]]
Keys = dict[tuple[int, int, int], list[Figures]]  # (unit id, span, start) → asked figures


async def read_figures(
    session: RequestSession, buckets: Sequence[UnitBucket]
) -> dict[UnitBucket, Figures]:
    """The store's totals, report counts and expected counts for each (unit, period)."""
    found = {bucket: Figures() for bucket in buckets}
    keys: Keys = defaultdict(list)
    stored: Wanted = defaultdict(lambda: (set(), set()))
    leaves: Wanted = defaultdict(lambda: (set(), set()))
    measured: list[UnitBucket] = []
    for bucket, figures in found.items():
        keys[bucket.unit_id, bucket.span, bucket.month_index].append(figures)
        if bucket.level != LEAF and not bucket.kept:
            measured.append(bucket)
            continue
        units, months = (leaves if bucket.level == LEAF else stored)[
            bucket.span, bucket.month_index % bucket.span
        ]
        units.add(bucket.unit_id)
        months.add(bucket.month_index)
    await _read_store(session, stored, keys)
    await _read_leaves(session, leaves, keys)
    await _read_measured(session, measured, found)
    await _read_sizes(session, [b for b in found if b.level != LEAF], found)
    return found


async def _read_store(session: RequestSession, wanted: Wanted, keys: Keys) -> None:
    # One statement per table and span (a request asks for one span or a few): plain IN
    # lists keep both databases on the primary key, where row-value lists did not on SQLite.
    for (span, _), (units, months) in sorted(wanted.items()):
        for store, key, amount in (
            (Rollup, Rollup.combo_id, Rollup.total),
            (RollupReport, RollupReport.element_id, RollupReport.units),
        ):
            statement = select(store.unit_id, store.month_index, key, amount).where(
                store.unit_id.in_(sorted(units)),
                store.span == span,
                store.month_index.in_(sorted(months)),
            )
            if len(units) * len(months) <= FEW_UNIT_MONTHS:
                statement = point_read(statement)
            is_total = store is Rollup
            for figures, (cell, value) in await _asked(session, statement, span, keys):
                (figures.totals if is_total else figures.reports)[cell] = value


async def _read_leaves(session: RequestSession, wanted: Wanted, keys: Keys) -> None:
    for (span, phase), (units, months) in sorted(wanted.items()):
        statement = _own_figures(span, phase, units, months)
        for figures, (combo_id, element_id, value) in await _asked(session, statement, span, keys):
            figures.totals[combo_id] = value
            figures.reports[element_id] = 1


async def _asked(
    session: RequestSession, statement: Select[*tuple[Any, ...]], span: int, keys: Keys
) -> list[tuple[Figures, tuple[Any, ...]]]:
    """Rows (unit id, start, ...) of the asked buckets, each with its buckets' figures."""
    out: list[tuple[Figures, tuple[Any, ...]]] = []
    add = out.append
    asked = keys.get
    # Tens of thousands of rows for a year of a province's units: the loop stays lean.
    for row in await session.rows(unscoped(statement, why=_CHECKED)):
        found = asked((row[0], span, row[1]))
        if found:
            rest = tuple(row[2:])
            for figures in found:
                add((figures, rest))
    return out


def tiles(start: int, span: int) -> list[tuple[int, int]]:
    """(span, start) of the buckets the store keeps that tile [start, start + span), each
    the longest that fits where it begins: a year from October is four quarters, one from
    November two months, three quarters and a month."""
    pieces = []
    at = start
    while at < start + span:
        piece = next(s for s in _LONGEST_FIRST if at % s == 0 and at + s <= start + span)
        pieces.append((piece, at))
        at += piece
    return pieces


async def _read_measured(
    session: RequestSession, buckets: list[UnitBucket], found: dict[UnitBucket, Figures]
) -> None:
    """Buckets above the deepest level that the store does not keep, for their elements:
    summed elements from the store's tiles, the rest measured from the values."""
    groups: dict[tuple[int, int], list[UnitBucket]] = defaultdict(list)
    for bucket in buckets:
        if bucket.elements:
            groups[bucket.span, bucket.month_index % bucket.span].append(bucket)
    if groups and session.dialect == "postgresql":
        # Thousands of index seeks look costly enough to PostgreSQL for its JIT, which then
        # compiles longer than the seeks take (a province's grid: 0.45 s, 0.7 s more with
        # it), as for the writers (docs/benchmarks.md). A SELECT, so the request still
        # reads as one that wrote nothing; LOCAL, so it ends with the transaction.
        await session.rows(select(func.set_config("jit", "off", True)))
    for (span, phase), group in sorted(groups.items()):
        asked: dict[tuple[int, int], list[Figures]] = defaultdict(list)
        for bucket in group:
            asked[bucket.unit_id, bucket.month_index].append(found[bucket])
        elements = sorted({element for bucket in group for element in bucket.elements})
        units = sorted({unit_id for unit_id, _ in asked})
        starts = sorted({start for _, start in asked})
        await _read_tiles(session, asked, span=span, phase=phase, elements=elements)
        statement = _measured_figures(span, phase, units, starts, elements)
        for unit_id, start, element_id, combo_id, amount in await session.rows(
            unscoped(statement, why=_CHECKED)
        ):
            if amount is None:
                continue  # no unit of the subtree holds the combo in the bucket
            for figures in asked.get((unit_id, start), ()):
                if combo_id is None:
                    figures.reports[element_id] = int(amount)
                else:
                    figures.totals[combo_id] = float(amount)


async def _read_tiles(
    session: RequestSession,
    asked: dict[tuple[int, int], list[Figures]],
    *,
    span: int,
    phase: int,
    elements: list[int],
) -> None:
    """Summed elements' totals: the sums of the store's tiles of each bucket."""
    units = sorted({unit_id for unit_id, _ in asked})
    by_span: dict[int, set[int]] = defaultdict(set)
    for start in {start for _, start in asked}:
        for piece, at in tiles(start, span):
            by_span[piece].add(at)
    for piece, ats in sorted(by_span.items()):
        statement = _summed_tiles(piece, units, sorted(ats), elements)
        for unit_id, at, combo_id, total in await session.rows(unscoped(statement, why=_CHECKED)):
            start = at - (at - phase) % span
            for figures in asked.get((unit_id, start), ()):
                figures.totals[combo_id] = figures.totals.get(combo_id, 0.0) + total


async def _read_sizes(
    session: RequestSession, buckets: list[UnitBucket], found: dict[UnitBucket, Figures]
) -> None:
    """Units below each bucket's unit, by level, that were not retired before it began."""
    if not buckets:
        return
    by_unit: dict[int, list[UnitBucket]] = defaultdict(list)
    for bucket in buckets:
        by_unit[bucket.unit_id].append(bucket)
    sizes = select(
        SubtreeSize.unit_id, SubtreeSize.level, SubtreeSize.until, SubtreeSize.units
    ).where(SubtreeSize.unit_id.in_(sorted(by_unit)))
    if len(by_unit) <= FEW_UNIT_MONTHS:
        sizes = point_read(sizes)
    for unit_id, level, until, count in await session.rows(unscoped(sizes, why=_CHECKED)):
        for bucket in by_unit[unit_id]:
            if until > bucket.start:
                below = found[bucket].below
                below[Level(level)] = below.get(Level(level), 0) + count


def _readable(span: int, phase: int) -> ColumnElement[bool]:
    """Elements (`data_elements` in the FROM clause) whose stored periods lie wholly inside
    buckets of the span that start at the phase: no longer than the span, and starting
    where the bucket does (a calendar year's value lies in no year from October)."""
    if phase == 0:
        return element_span() <= span
    return and_(element_span() <= span, literal(phase) % element_span() == 0)


def _own_figures(span: int, phase: int, units: set[int], months: set[int]) -> Select[Any]:
    """(unit, bucket start, combo, element, contribution) of units' own stored values."""
    if span == 1:
        # A month's bucket holds at most one value of a unit and combo (data_values' key):
        # its sum, its average and its last value are that value, and only monthly elements
        # are readable in it. Read it as it is stored: a province's villages for a month
        # are tens of thousands of values, which the grouping below took twice as long.
        # The readable combos named, each (unit, combo, month) is one seek of the key;
        # without them a unit's every month is scanned for the one asked.
        readable = cast(Table, OptionCombo.__table__).alias("readable")
        combos = (
            select(readable.c.id)
            .join(DataElement, DataElement.id == readable.c.element_id)
            .where(_readable(span, phase))
        )
        return (
            select(V.jurisdiction_id, V.month_index, V.combo_id, C.element_id, V.value)
            .join(OptionCombo, C.id == V.combo_id)
            .where(
                V.jurisdiction_id.in_(sorted(units)),
                V.combo_id.in_(combos),
                V.month_index.in_(sorted(months)),
            )
        )
    start = (
        V.month_index - (V.month_index - phase) % span
        if phase
        else V.month_index - V.month_index % span
    )
    scan = (
        select(
            V.jurisdiction_id.label("unit_id"),
            V.combo_id,
            literal(span).label("span"),
            start.label("start"),
            V.month_index,
            V.value,
            DataElement.time_aggregation.label("aggregation"),
        )
        .join(OptionCombo, C.id == V.combo_id)
        .join(DataElement, DataElement.id == C.element_id)
        .where(
            V.jurisdiction_id.in_(sorted(units)),
            V.month_index >= min(months),
            V.month_index < max(months) + span,
            _readable(span, phase),
        )
        .subquery()
    )
    own = contributions(scan).subquery()
    return (
        select(own.c.unit_id, own.c.start, own.c.combo_id, C.element_id, own.c.contribution)
        .join(OptionCombo, C.id == own.c.combo_id)
        .where(own.c.start.in_(sorted(months)))
    )


def _summed_tiles(
    span: int, units: list[int], starts: list[int], elements: list[int]
) -> Select[int, int, int, float]:
    """(unit, tile start, combo, total) of the store's tiles of the span, for the summed
    elements' combos."""
    summed = (
        select(C.id)
        .join(DataElement, DataElement.id == C.element_id)
        .where(C.element_id.in_(elements), E.time_aggregation == TimeAggregation.SUM.value)
    )
    return select(Rollup.unit_id, Rollup.month_index, Rollup.combo_id, Rollup.total).where(
        Rollup.unit_id.in_(units),
        Rollup.span == span,
        Rollup.month_index.in_(starts),
        Rollup.combo_id.in_(summed),
    )


def _measured_figures(
    span: int, phase: int, units: list[int], starts: list[int], elements: list[int]
) -> Select[Any]:
    """(unit, start, element, combo, total) of the averaged and latest-value elements, and
    (unit, start, element, None, units that reported it) of every element, over each unit's
    subtree (the unit included), in buckets [start, start + span).

    Every (unit of the subtree, combo, bucket) is one index seek (a latest value, whether
    any value is held) or one short range (an average), by the definitions that keep the
    store (`bucket_contribution`); scalar subqueries, so that both databases seek them row
    by row whatever their statistics say.
    """
    asked = J.alias("asked")
    reporting = J.alias("reporting")
    # Each unit asked with every unit of its subtree: found first, by the path's index,
    # and read by both halves below (so PostgreSQL materialises it rather than seeking
    # values for units of the whole tree before it knows which ones are asked).
    members = (
        select(asked.c.id.label("unit_id"), reporting.c.id.label("member"))
        .select_from(asked)
        .join(reporting, within(reporting.c.path, asked.c.path))
        .where(asked.c.id.in_(units))
        .cte("members")
    )
    # The buckets' starts as a table of one column.
    firsts = [select(literal(start).label("start")) for start in starts]
    windows = (union_all(*firsts) if len(firsts) > 1 else firsts[0]).subquery("windows")
    readable = and_(C.element_id.in_(elements), _readable(span, phase))
    cells = (
        select(C.id.label("combo_id"), C.element_id, E.time_aggregation.label("aggregation"))
        .join_from(OptionCombo, DataElement, E.id == C.element_id)
        .where(readable, E.time_aggregation != TimeAggregation.SUM.value)
        .subquery("cells")
    )
    last = cells.c.aggregation == TimeAggregation.LAST.value
    contribution = bucket_contribution(
        members.c.member, cells.c.combo_id, windows.c.start, literal(span), last
    )
    each = (
        select(
            members.c.unit_id,
            windows.c.start,
            cells.c.element_id,
            cells.c.combo_id,
            contribution.label("contribution"),
        )
        .select_from(members)
        .join(windows, true())
        .join(cells, true())
        .subquery("each")
    )
    totals = select(
        each.c.unit_id,
        each.c.start,
        each.c.element_id,
        each.c.combo_id,
        func.sum(each.c.contribution).label("amount"),
    ).group_by(each.c.unit_id, each.c.start, each.c.element_id, each.c.combo_id)
    reportable = (
        select(E.id.label("element_id"))
        .where(E.id.in_(elements), _readable(span, phase))
        .subquery("reportable")
    )
    combos = cast(Table, OptionCombo.__table__).alias("held_combos")
    values = cast(Table, DataValue.__table__).alias("held_values")
    held = (
        select(literal(1))
        .select_from(combos.join(values, values.c.combo_id == combos.c.id))
        .where(
            combos.c.element_id == reportable.c.element_id,
            values.c.jurisdiction_id == members.c.member,
            values.c.month_index >= windows.c.start,
            values.c.month_index < windows.c.start + span,
        )
        .limit(1)
        .scalar_subquery()
    )
    reports = (
        select(
            members.c.unit_id,
            windows.c.start,
            reportable.c.element_id,
            null().cast(Integer),
            func.count(),
        )
        .select_from(members)
        .join(windows, true())
        .join(reportable, true())
        .where(held.is_not(None))
        .group_by(members.c.unit_id, windows.c.start, reportable.c.element_id)
    )
    return select(union_all(totals, reports).subquery())
