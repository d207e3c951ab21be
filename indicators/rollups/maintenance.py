"""Keeping the roll-up store fresh inside the writer's own transaction, set-based.

A writer puts the values it is about to change in `cells` (`cells_from`: unit, combo, month,
old value, new value; None for nothing stored), runs `BEFORE`, changes data_values, then runs
`AFTER` and `apply_statements` (lifting.py). Most differences follow from the changes
alone: a cell's bucket of its own period, and every bucket of a summed element, change by
new - old.
Averages and latest values over longer buckets are measured on the stored values before and
after the write (unless the bucket was empty and gets one value); where the changes fall in
one month per year (a monthly import), one look at each changed cell's year before the write
serves all its buckets, and what they hold after follows from the change. Whether a unit
reported an element in a bucket at all is looked up when a value appears or goes. The
differences travel up one level at a time (each unit's parent sums its children's), and the
store adds them. The cost follows the number of changed values times the depth of the
tree, never the size of a subtree.

Units of the deepest level have no subtree: the store leaves them out (their own values
are their figures) and their differences go straight to their parents.

The writer's order: `create_statements`, `lock_units`, read what is stored, fill `cells`,
`BEFORE`, write data_values, `AFTER`, `apply_statements`. The statements of each list run
in the order listed: each reads what earlier ones wrote, and what `BEFORE` measures is
gone after the write. docs/rollups.md states what the store holds after every write, and
follows one write through every statement with real numbers.
"""

from __future__ import annotations

import itertools
from typing import Any, cast

from sqlalchemy import (
    Double,
    Executable,
    Integer,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.sql import ColumnElement, FromClause, Select

from indicators.models import DataElement, DataValue, OptionCombo, TimeAggregation
from indicators.rollups.contributions import bucket_contribution, element_span, in_bucket
from indicators.rollups.lifting import ABOVE, apply_statements, insert_deltas
from indicators.rollups.models import LEAF, Rollup, RollupReport
from indicators.rollups.scratch import (
    AGGREGATION_CODES,
    SPANS,
    cell_moves,
    cell_windows,
    cells,
    create_statements,
    months,
    report_keys,
    report_moves,
    report_totals,
    reported_buckets,
    totals,
    windows,
)
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.scope import unscoped

Q, W, K = cells.c, windows.c, report_keys.c
V = cast(Table, DataValue.__table__).c
C = cast(Table, OptionCombo.__table__).c
E = cast(Table, DataElement.__table__).c
J = cast(Table, Jurisdiction.__table__).c
R = cast(Table, RollupReport.__table__).c
SUM = AGGREGATION_CODES[TimeAggregation.SUM]
LAST = AGGREGATION_CODES[TimeAggregation.LAST]
# Why the upkeep reads scoped tables without the caller's scope (tests/scoping.py): it
# follows the writer's own changes, of units the writer checked against its scope and holds.
_CHANGED_UNITS = "the writer's changes, of units it checked and holds (lock_units)"


def _depth(level: Any) -> ColumnElement[int]:
    return case(*((level == each.value, each.depth) for each in Level))


def _target(unit: Any, level: Any, parent: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Whose store row a unit's own difference goes to, and its level: the unit's own, or
    its parent's for a unit of the deepest level (a level as its depth)."""
    leaf = level == LEAF.value
    assert LEAF.parent is not None
    return (
        case((leaf, parent), else_=unit).label("target"),
        case((leaf, LEAF.parent.depth), else_=_depth(level)).label("target_level"),
    )


def _start(month: Any, span: int | Any) -> ColumnElement[int]:
    return cast(ColumnElement[int], month - month % span)


def cells_from(rows: Select[Any]) -> Executable:
    """Fill `cells` from a writer's changes: a select of (unit id, combo id, month index,
    old, new, stored id, line, the unit's level, its parent's id), each joined here to its
    element. The writer has looked its units up already: joining the tree again here cost
    a lookup per change."""
    x = rows.subquery("x")
    unit, combo, *_, level, parent = x.c
    enriched = (
        select(*list(x.c)[:-2])
        .join(OptionCombo, C.id == combo)
        .join(DataElement, E.id == C.element_id)
        .add_columns(C.element_id, element_span(), _aggregation_code())
        .add_columns(*_target(unit, level, parent))
    )
    names = ["unit_id", "combo_id", "month_index", "old", "new", "stored_id", "line"]
    rest = ["element_id", "element_span", "aggregation", "target", "target_level"]
    return unscoped(cells.insert().from_select([*names, *rest], enriched), why=_CHANGED_UNITS)


def _aggregation_code() -> ColumnElement[int]:
    """The element's time aggregation as the scratch tables carry it."""
    codes = AGGREGATION_CODES.items()
    return case(*((E.time_aggregation == aggregation.value, code) for aggregation, code in codes))


def units_of(rows: Select[Any]) -> Select[Any]:
    """A writer's changes (unit id first) with the two columns `cells_from` asks of units."""
    x = rows.subquery("listed")
    unit = next(iter(x.c))
    return select(*x.c, J.level, J.parent_id).join(Jurisdiction, J.id == unit)


def _follow(*columns: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """Columns that follow from the grouped ones (a target's level, a combo's span and
    aggregation), carried by min(): grouping by them too made each sort wider."""
    return [func.min(column).label(column.name) for column in columns]


def _cell_moves() -> Executable:
    """Sum the changes per target, combo and period, apart by how far reporting moves.

    After the keys (each change's `moved` comes from its key), before the write: a stopping
    key still has `moved` 0 here, so no deletion is taken for a fresh window. The windows,
    the looks and the fresh windows ask these rows; `_own_deltas` sums them after the
    write."""
    moved = func.coalesce(K.moved, 0)
    change = func.coalesce(Q.new, 0.0) - func.coalesce(Q.old, 0.0)
    group = [Q.target, Q.combo_id, Q.month_index, moved]
    rows = (
        select(*group, *_follow(Q.target_level, Q.element_span, Q.aggregation), func.sum(change))
        .select_from(cells)
        .outerjoin(report_keys, _own_key())
        .group_by(*group)
    )
    names = ["target", "combo_id", "month_index", "moved"]
    return cell_moves.insert().from_select(
        [*names, "target_level", "element_span", "aggregation", "amount"], rows
    )


def _own_deltas() -> Executable:
    """new - old in the bucket of each change's own period."""
    m = cell_moves.c
    cell = [m.target, m.target_level, m.combo_id, m.element_span, m.month_index]
    rows = select(*cell, func.sum(m.amount)).group_by(*cell)
    return insert_deltas(totals, "combo_id", rows)


def _summed_deltas(span: int) -> Executable:
    """A summed element's difference over a longer bucket: the sum of its periods' own
    differences, already gathered per unit (far fewer rows than the changes). Reads the
    rows `_own_deltas` wrote, so it runs after it, and before the lifts."""
    d = totals.c
    start = _start(d.month_index, span)
    rows = (
        select(d.unit_id, d.level, d.combo_id, literal(span), start, func.sum(d.amount))
        .select_from(totals)
        .join(OptionCombo, C.id == d.combo_id)
        .join(DataElement, E.id == C.element_id)
        .where(
            d.span == element_span(),
            element_span() < span,
            E.time_aggregation == TimeAggregation.SUM.value,
        )
        .group_by(d.unit_id, d.level, d.combo_id, start)
    )
    return insert_deltas(totals, "combo_id", rows)


def _own_key() -> ColumnElement[bool]:
    """A change's report key."""
    return and_(
        K.unit_id == Q.unit_id, K.element_id == Q.element_id, K.month_index == Q.month_index
    )


def _months_of_changes() -> Executable:
    """The changes' months per element. First of all: `_one_month_per_bucket` counts these
    rows (an empty table would take any batch for one month per bucket), and
    `_reported_buckets` starts from them."""
    rows = select(Q.element_id, Q.element_span, Q.month_index).distinct()
    return months.insert().from_select(["element_id", "element_span", "month_index"], rows)


def _reported_buckets(span: int) -> Executable:
    """The buckets of this span of the changes' months in which the store counts some unit
    reporting the element before the write: asked of each province's row, a few lookups
    per element and month, where asking each key's own target took one per key."""
    m = months.c
    start = _start(m.month_index, span)
    counted = (
        select(R.unit_id)
        .join(Jurisdiction, J.id == R.unit_id)
        .where(
            J.level == Level.PROVINCE.value,
            R.span == span,
            R.month_index == start,
            R.element_id == m.element_id,
            R.units > 0,
        )
        .exists()
    )
    rows = select(m.element_id, literal(span), start).where(m.element_span <= span, counted)
    statement = reported_buckets.insert().from_select(
        ["element_id", "span", "start"], rows.distinct()
    )
    return unscoped(statement, why=ABOVE)


def _one_month_per_bucket(span: int) -> ColumnElement[bool]:
    """No element has two months of the changes in one bucket of this span: then a unit has
    at most one change of a combo and one report key of an element in each bucket, and
    counting units needs no DISTINCT nor windows a grouping. Most batches are one month.
    Read from `months`: true of every span until `_months_of_changes` has run."""
    m = months.c
    buckets = select(m.element_id, _start(m.month_index, span)).distinct().subquery()
    every = select(func.count()).select_from(months).scalar_subquery()
    return every == select(func.count()).select_from(buckets).scalar_subquery()


def _fresh(span: int, moved: Any, element_span: Any, aggregation: Any) -> ColumnElement[bool]:
    """Changes of averaged or latest-value elements whose window of this span was empty
    and gets one value, its contribution: the unit starts reporting the element there
    (`moved` reaches the span) and no other month of the element shares the bucket."""
    return and_(
        _one_month_per_bucket(span),
        func.coalesce(moved, 0) >= span,
        element_span < span,
        aggregation != SUM,
    )


def _windows_of_changes(span: int) -> Executable:
    """The windows of this span that need measuring (not _fresh), where some element has
    two months of the changes in one year (otherwise the look serves). None at all, and no
    look at the changes, where every change is fresh (a first month of a year). `fresh`
    marks a window every change of which starts the unit reporting at this span: it held
    nothing before, so it is measured only after the write (or not at all: `sole`)."""
    start = _start(Q.month_index, span)
    window = [Q.unit_id, Q.combo_id, start, Q.aggregation, Q.target, Q.target_level]
    fresh = func.min(case((K.moved >= span, 1), else_=0))
    m = cell_moves.c
    unmeasured = and_(
        m.element_span < span,
        m.aggregation != SUM,
        ~_fresh(span, m.moved, m.element_span, m.aggregation),
    )
    rows = (
        select(*window, literal(span), fresh, case((func.count() == 1, func.max(Q.new))))
        .select_from(cells)
        .outerjoin(report_keys, _own_key())
        .where(
            ~_one_month_per_bucket(SPANS[-1]),
            exists().where(unmeasured),
            Q.element_span < span,
            Q.aggregation != SUM,
            ~_fresh(span, K.moved, Q.element_span, Q.aggregation),
        )
        .group_by(*window)
    )
    names = ["unit_id", "combo_id", "start", "aggregation", "target", "target_level", "span"]
    return windows.insert().from_select([*names, "fresh", "sole"], rows)


def _looked(*, going: bool) -> Select[Any]:
    """Where no two months of the changes share a year, one look at each changed cell's
    year (an index range of at most twelve values) gives what every longer bucket held
    before the write: how many values, their sum, the latest month and its value (the
    columns of `cell_windows`). What the windows hold after the write follows from these
    and the change, except where a latest value `going` (deleted) was the latest: the
    value left is measured after the write. Buckets that were empty are fresh and need no
    look."""
    longest = SPANS[-1]
    moved = func.coalesce(K.moved, 0).label("moved")
    year = _start(Q.month_index, longest)
    m = cell_moves.c
    # None at all, and no look at the changes, where every bucket was empty (a January).
    some = exists().where(
        m.element_span < longest,
        m.aggregation != SUM,
        m.moved < longest,
    )
    key = [
        Q.unit_id,
        Q.combo_id,
        Q.month_index,
        Q.old,
        Q.new,
        Q.element_span,
        Q.aggregation,
        moved,
        Q.target,
        Q.target_level,
    ]
    # The month before the change's, most often the latest value a monthly import meets.
    previous = func.max(case((V.month_index == Q.month_index - 1, V.value))).label("previous")
    held: list[ColumnElement[Any]] = [previous]
    for span in SPANS[1:]:
        start = _start(Q.month_index, span)
        inside = and_(V.month_index >= start, V.month_index < start + span)
        held += [
            func.count(case((inside, V.id))).label(f"count_{span}"),
            func.sum(case((inside, V.value))).label(f"total_{span}"),
            func.max(case((inside, V.month_index))).label(f"latest_{span}"),
        ]
    going_latest = and_(Q.aggregation == LAST, Q.new.is_(None))
    looked = (
        select(*key, *held)
        .select_from(cells)
        .outerjoin(report_keys, _own_key())
        .outerjoin(DataValue, in_bucket(Q.unit_id, Q.combo_id, year, longest))
        .where(
            _one_month_per_bucket(longest),
            some,
            Q.element_span < longest,
            Q.aggregation != SUM,
            going_latest if going else ~going_latest,
            moved < longest,
        )
        .group_by(*key)
        .subquery()
    )
    x = looked.c
    columns: list[ColumnElement[Any]] = [x[c.name] for c in key]
    # A latest value after the change's month stays the latest (`_look_difference` needs
    # no value there); those up to it are one month, the latest of the longest such bucket
    # (buckets nest, and the shorter ones hold nothing later). Its value is most often the
    # change's own old one or the month before's, both at hand; otherwise one seek.
    sought = case(
        *(
            (x[f"latest_{span}"] <= x.month_index, x[f"latest_{span}"])
            for span in reversed(SPANS[1:])
        )
    )
    stored = select(V.value).where(
        V.jurisdiction_id == x.unit_id, V.combo_id == x.combo_id, V.month_index == sought
    )
    value = case(
        (sought == x.month_index, x.old),
        (sought == x.month_index - 1, x.previous),
        else_=stored.scalar_subquery(),
    )
    last = x.aggregation == LAST
    for span in SPANS[1:]:
        latest = x[f"latest_{span}"]
        columns += [
            x[f"count_{span}"].label(f"count_{span}"),
            x[f"total_{span}"].label(f"total_{span}"),
            latest.label(f"latest_{span}"),
            case((and_(last, latest == sought), value)).label(f"value_{span}"),
        ]
    return select(*columns)


def _window_looks() -> Executable:
    """The looks of latest values going, kept until the write is done: the look must see
    the value that goes, the difference must see what is left (`_look_deltas` in
    `AFTER`)."""
    names = [c.name for c in cell_windows.columns]
    return unscoped(
        cell_windows.insert().from_select(names, _looked(going=True)), why=_CHANGED_UNITS
    )


def _look_difference(x: Any, span: int) -> ColumnElement[Any]:
    """A looked-at window's contribution after the write minus before: an average from
    the sum and number of values before and the change; a latest value unchanged where a
    later month holds one, the new value where the change is the latest, and measured
    again (after the write) where the latest value went."""
    count, total, latest, value = (
        x[f"{name}_{span}"] for name in ("count", "total", "latest", "value")
    )
    start = _start(x.month_index, span)
    last = x.aggregation == LAST
    before = case((last, value), (count > 0, total / count))
    kept = count + case((x.old.is_(None), 1), else_=0) - case((x.new.is_(None), 1), else_=0)
    changed = func.coalesce(total, 0.0) - func.coalesce(x.old, 0.0) + func.coalesce(x.new, 0.0)
    measured = bucket_contribution(x.unit_id, x.combo_id, start, literal(span), last)
    after = case(
        (and_(last, latest > x.month_index), value),
        (and_(last, x.new.is_not(None)), x.new),
        (last, measured),
        (kept == 0, null()),
        else_=changed / kept,
    )
    return func.coalesce(after, 0.0) - func.coalesce(before, 0.0)


def _look_deltas(looked: FromClause) -> Executable:
    """The looked-at windows' differences, summed per target and bucket of every span at
    once (spans nest): a few rows per target, from one read of the looks."""
    x = looked.c
    starts = [_start(x.month_index, span).label(f"start_{span}") for span in SPANS[1:]]
    differences = [
        func.sum(
            case((and_(x.element_span < span, x.moved < span), _look_difference(x, span)))
        ).label(f"difference_{span}")
        for span in SPANS[1:]
    ]
    bucket = [x.target, x.target_level, x.combo_id]
    g = select(*bucket, *starts, *differences).group_by(*bucket, *starts).cte("looked_buckets").c
    rows = (
        select(
            g.target,
            g.target_level,
            g.combo_id,
            literal(span),
            g[f"start_{span}"],
            g[f"difference_{span}"],
        ).where(g[f"difference_{span}"].is_not(None))
        for span in SPANS[1:]
    )
    return unscoped(insert_deltas(totals, "combo_id", union_all(*rows)), why=_CHANGED_UNITS)


def _window_look_deltas_now() -> Executable:
    """Where the differences follow from the change (all but latest values going), they
    are worked out as the cells are looked at, before the write: keeping every look in
    `cell_windows` to work them out after it cost a table written and read twice."""
    return _look_deltas(_looked(going=False).subquery("looked"))


def _fresh_windows(span: int) -> Executable:
    """Fresh windows contribute their single new value: summed per target, from the
    changes already summed per target and period (`_cell_moves`)."""
    m = cell_moves.c
    start = _start(m.month_index, span)
    bucket = [m.target, m.target_level, m.combo_id, start]
    rows = (
        select(*bucket[:3], literal(span), start, func.sum(m.amount))
        .where(_fresh(span, m.moved, m.element_span, m.aggregation))
        .group_by(*bucket)
    )
    return insert_deltas(totals, "combo_id", rows)


def _keys_of_changes(*, look: bool = True) -> Executable:
    """The report keys, with how far each key whose values only appear moves the unit's
    reporting (`_moved`, before the write): worked out as the keys are written, where an
    UPDATE wrote every key a second time. `look=False` takes every bucket as empty before
    (a rebuild). A stopping key's `moved` is 0 until `_stops`, after the write.

    Before the write, after `_reported_buckets` (`_held` trusts "nobody reported" only from
    its rows), and before everything that asks a change's `moved`."""
    key = [Q.unit_id, Q.element_id, Q.month_index]
    grouped = (
        select(
            *key,
            *_follow(Q.target, Q.target_level, Q.element_span),
            func.sum(case((Q.old.is_(None), 1), else_=0)).label("appearing"),
            func.sum(case((Q.new.is_(None), 1), else_=0)).label("going"),
        )
        .where(or_(Q.old.is_(None), Q.new.is_(None)))
        .group_by(*key)
        .subquery("grouped")
    )
    # Joined after grouping, once per element: a subquery per key ran once for every key,
    # and a join before grouping made SQLite index the changes anew.
    combos = select(C.element_id, func.count().label("cells")).group_by(C.element_id).subquery("n")
    g, n = grouped.c, combos.c
    keys = (
        select(
            *(g.unit_id, g.element_id, g.month_index, g.target, g.target_level, g.element_span),
            case((g.appearing > 0, 1), else_=0).label("inserts"),
            case((g.going > 0, 1), else_=0).label("deletes"),
            case((or_(g.appearing == n.cells, g.going == n.cells), 1), else_=0).label("complete"),
        )
        .join(combos, n.element_id == g.element_id)
        .subquery("keys")
    )
    moved = _moved(keys, starts=True) if look else literal(SPANS[-1])
    rows = select(*keys.c, case((_moving(keys, starts=True), moved), else_=0))
    statement = report_keys.insert().from_select([*(c.name for c in keys.c), "moved"], rows)
    return unscoped(statement, why=_CHANGED_UNITS)


def _window_contributions(*, after: bool) -> Executable:
    """Each window's contribution (average or latest value over it): minus what it was
    before the write (`after=False`, in `BEFORE`), plus what it is after (`after=True`, in
    `AFTER`). A bucket that was empty contributed nothing before; one that holds a single
    new value contributes that value."""
    measured = bucket_contribution(W.unit_id, W.combo_id, W.start, W.span, W.aggregation == LAST)
    contribution: ColumnElement[Any]
    if after:
        contribution = case((and_(W.fresh == 1, W.sole.is_not(None)), W.sole), else_=measured)
    else:
        contribution = -measured
    rows = (
        select(W.target, W.target_level, W.combo_id, W.span, W.start, func.sum(contribution))
        .select_from(windows)
        .group_by(W.target, W.target_level, W.combo_id, W.span, W.start)
    )
    statement = insert_deltas(totals, "combo_id", rows if after else rows.where(W.fresh == 0))
    return unscoped(statement, why=_CHANGED_UNITS)


def _moving(keys: FromClause, *, starts: bool) -> ColumnElement[bool]:
    """Keys whose values only appear (they may start the unit reporting: run before the
    write) or only go (they may stop it: after). Where values both appear and go, the unit
    reports before and after."""
    k = keys.c
    if starts:
        return and_(k.inserts == 1, k.deletes == 0)
    return and_(k.deletes == 1, k.inserts == 0)


def _held(keys: FromClause, span: int | ColumnElement[Any], *, before: bool) -> ColumnElement[bool]:
    """Whether the key's unit holds any value of the element in its bucket of this span.

    Before the write the store still describes what is stored: where no unit reported the
    element in the bucket at all (`_reported_buckets`), the unit holds nothing there, and a
    lookup in a table of a few rows answers without seeking its values (every bucket of a
    new year, for its first month).
    """
    k = keys.c
    start = _start(k.month_index, span)
    # Combo by combo, each a seek on (unit, combo, month): both planners keep this shape,
    # where an IN list of combos left PostgreSQL scanning all of a unit's values.
    in_combo = (
        exists()
        .where(
            V.jurisdiction_id == k.unit_id,
            V.combo_id == C.id,
            V.month_index >= start,
            V.month_index < start + span,
        )
        .correlate(keys, OptionCombo)
    )
    held = exists().where(C.element_id == k.element_id, in_combo).correlate(keys)
    if not before:
        return held
    b = reported_buckets.c
    counted = (
        exists()
        .where(b.element_id == k.element_id, b.span == span, b.start == start)
        .correlate(keys)
    )
    return and_(counted, held)


def _moved(keys: FromClause, *, starts: bool) -> ColumnElement[int]:
    """How far a moving key moves the unit's reporting: for starts before the write
    (nothing of the element in the bucket before), for stops after it (nothing left).

    The own period first: a key in which every cell appears (goes) needs no look. Then the
    shortest longer bucket, then longer ones, each looked at only if no shorter one held
    anything (CASE takes its branches in order): spans nest, so the first bucket that holds
    a value ends the walk one span short of it. A month reported beside an earlier one of
    its quarter (eight months in twelve) takes one look.
    """
    k = keys.c
    own = or_(k.complete == 1, ~_held(keys, k.element_span, before=starts))
    # A key of span s' < s reaching span s found nothing in the spans between: it moves
    # through the span before s (s' itself, or a longer one).
    return case(
        (~own, 0),
        *(
            (and_(k.element_span < span, _held(keys, span, before=starts)), shorter)
            for shorter, span in itertools.pairwise(SPANS)
        ),
        else_=SPANS[-1],
    )


def _stops() -> Executable:
    """After the write: how far each key whose values only go stops the unit reporting.
    Only then is it known what is left; `_report_moves` counts the keys after it."""
    step = (
        update(report_keys)
        .where(_moving(report_keys, starts=False))
        .values(moved=_moved(report_keys, starts=False))
    )
    return unscoped(step, why="the writer holds these units (lock_units)")


def _report_moves() -> Executable:
    """The moving keys counted per target, element, period and how far they move: after
    `_stops`, which gives the stopping keys theirs."""
    sign = case((K.inserts == 1, 1), else_=-1)
    group = [K.target, K.element_id, K.month_index, K.moved]
    rows = (
        select(*group, *_follow(K.target_level, K.element_span), func.sum(sign))
        .where(K.moved > 0)
        .group_by(*group)
    )
    names = ["target", "element_id", "month_index", "moved", "target_level", "element_span"]
    return report_moves.insert().from_select([*names, "amount"], rows)


def _report_deltas(span: int) -> Executable:
    """+1 for each unit starting to report the element in a bucket of this span, -1 for
    each stopping. Where a unit has one key per bucket (always in its own period), from the
    counted moves; otherwise keys of one bucket count their unit once."""
    m = report_moves.c
    start = _start(m.month_index, span)
    bucket = [m.target, m.target_level, m.element_id, start]
    counted = (
        select(*bucket[:3], literal(span), start, func.sum(m.amount))
        .where(
            m.moved >= span,
            m.element_span <= span,
            or_(m.element_span == span, _one_month_per_bucket(span)),
        )
        .group_by(*bucket)
    )
    return insert_deltas(report_totals, "element_id", counted)


def _report_deltas_by_unit(span: int) -> Executable:
    """The same where a unit may have several keys in one bucket: each counted once."""
    sign = case((K.inserts == 1, 1), else_=-1)
    start = _start(K.month_index, span)
    rows = (
        select(
            K.target,
            K.target_level,
            K.element_id,
            literal(span),
            start,
            func.count(K.unit_id.distinct()) * sign,
        )
        .select_from(report_keys)
        .where(K.moved >= span, K.element_span < span, ~_one_month_per_bucket(span))
        .group_by(K.target, K.target_level, K.element_id, start, sign)
    )
    return insert_deltas(report_totals, "element_id", rows)


# Once the report keys know which buckets were empty. In this order: the changes per
# target first (the windows' and the looks' guards ask them, the fresh windows sum them);
# the looks before the write, those of latest values going kept for after it.
_WINDOWS: list[Executable] = [
    _cell_moves(),
    *(_windows_of_changes(span) for span in SPANS[1:]),
    _window_looks(),
    _window_look_deltas_now(),
    *(_fresh_windows(span) for span in SPANS[1:]),
]
# Run once the changes are in, before anything is written: which units start reporting
# what, and which buckets need measuring. In this order: the months (every "one month per
# bucket" asks them), the buckets anyone reported (the keys trust them), the keys (the
# windows ask how far each moves), the windows, and their contributions before the write.
BEFORE: list[Executable] = [
    _months_of_changes(),
    *(_reported_buckets(span) for span in SPANS),
    _keys_of_changes(),
    *_WINDOWS,
    _window_contributions(after=False),
]
# The differences per target that follow from the keys and the changes: the moves before
# the counts that sum them, each period's own difference before the sums over longer ones.
_DIFFERENCES: list[Executable] = [
    _report_moves(),
    *(_report_deltas(span) for span in SPANS),
    *(_report_deltas_by_unit(span) for span in SPANS[1:]),
    _own_deltas(),
    *(_summed_deltas(span) for span in SPANS[1:]),
]
# Run once the write is done: what the windows and the keys that stop are left with.
# `_stops` comes before `_DIFFERENCES`, whose moves count by each key's `moved`.
AFTER: list[Executable] = [
    _window_contributions(after=True),
    # The looks of latest values going: what is left is measured now.
    _look_deltas(cell_windows),
    _stops(),
    *_DIFFERENCES,
]


def lock_units(unit_ids: Select[Any] | list[int]) -> Select[Any]:
    """Hold the units about to change, in id order, until commit.

    Two writers measuring the same unit's buckets at once would each add a difference
    measured without the other's values; waiting on the unit makes the second measure after
    the first commits. NO KEY UPDATE leaves the foreign-key checks of inserts unblocked.
    """
    return select(J.id).where(J.id.in_(unit_ids)).order_by(J.id).with_for_update(key_share=True)


def rebuild_statements(dialect: str, elements: list[int] | None = None) -> list[Executable]:
    """Empty the store (of these elements only, when given) and measure every stored value
    afresh (a migration, a repair, a catalogue change): as if every value had just appeared.

    Every element's rows derive from its own values alone, so one element's rows can be
    rebuilt while the others' stay as they are."""
    values = select(
        V.jurisdiction_id,
        V.combo_id,
        V.month_index,
        sql_cast(null(), Double),
        V.value,
        V.id,
        sql_cast(null(), Integer),
    )
    clear_rollups, clear_reports = delete(Rollup), delete(RollupReport)
    if elements is not None:
        combos = select(C.id).where(C.element_id.in_(elements))
        values = values.where(V.combo_id.in_(combos))
        clear_rollups = clear_rollups.where(Rollup.combo_id.in_(combos))
        clear_reports = clear_reports.where(RollupReport.element_id.in_(elements))
    return [
        clear_rollups,
        clear_reports,
        *create_statements(dialect),
        cells_from(units_of(values)),
        _months_of_changes(),
        _keys_of_changes(look=False),
        *_WINDOWS,
        *AFTER,
        *apply_statements(dialect),
    ]
