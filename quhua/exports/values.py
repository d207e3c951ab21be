"""The rows of a values export: stored values of a subtree, a page at a time, in keyset order.

Order: unit path (the path index), then month and combo within the unit (the unit's cells,
read through the unique index on unit, combo and month). A page is one statement that
starts after the last row of the one before; on PostgreSQL it is a LATERAL join, so that
each unit's values are an index range whatever the planner's statistics say (a hash join
of the whole table, sorted again for every page, is what it chose without them).

For CSV without cursors the database writes each line itself (`lines`): the text is the
same as the formatter's (tests/test_export_values.py checks both), and Python only joins
the lines, which keeps the export near the speed of a bare dump.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Select,
    String,
    Table,
    and_,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy import cast as cast_
from sqlalchemy.dialects.postgresql import aggregate_order_by

from authz.roles import Action
from core.errors import BadUserInput
from indicators.catalogue_index import ElementInfo
from indicators.models import ChangeSet, DataElement, DataValue, OptionCombo, ValueChange
from indicators.periods import Period, PeriodType
from quhua.exports.arguments import export_root
from quhua.exports.cursors import ValuePosition, decode_value_cursor, fingerprint, value_cursor
from quhua.exports.periods import month_range
from resolvers.context import Context
from resolvers.rollups.queries import element_argument
from tenancy.models import Jurisdiction
from tenancy.paths import within
from tenancy.scope import unscoped

VALUES_PER_PAGE = 5000
# Units a page of PostgreSQL's lines starts with, and holds at most; in between, as many
# as make about LINES_PER_PAGE lines, judged by the page before (the text of 20,000 lines
# is about 1 MB; fewer pages, each one statement, measured 25 % faster than 5,000).
LINES_PER_PAGE = 20_000
FIRST_UNITS = 10
MAX_UNITS = 1000
_SPLIT = 2**31
_CHECKED = "the page's units lie under the export's root, checked against values:read"

_UNITS = cast(Table, Jurisdiction.__table__).alias("j")
_VALUES = cast(Table, DataValue.__table__)
_COMBOS = cast(Table, OptionCombo.__table__).alias("c")
_ELEMENTS = cast(Table, DataElement.__table__).alias("e")

# A value's period in its element's own type (2024-03, 2024-Q1, 2024) and its number as
# stored (whole numbers without decimals; Numeric(20, 2) trimmed on PostgreSQL, SQLite's
# own text of the number it keeps), as one CSV line of `jurisdiction,element,period,value,
# disaggregation`. Codes, periods and keys hold no character CSV would quote.
_LINES = {
    "postgresql": (
        "concat_ws(',', j.code, e.code, CASE e.period_type "
        "WHEN 'month' THEN (v.month_index / 12)::text || '-' || "
        "lpad((v.month_index % 12 + 1)::text, 2, '0') "
        "WHEN 'quarter' THEN (v.month_index / 12)::text || '-Q' || "
        "((v.month_index % 12) / 3 + 1)::text "
        "ELSE (v.month_index / 12)::text END, trim_scale(v.value), c.key)"
    ),
    "sqlite": (
        "j.code || ',' || e.code || ',' || CASE e.period_type "
        "WHEN 'month' THEN (v.month_index / 12) || '-' || printf('%02d', v.month_index % 12 + 1) "
        "WHEN 'quarter' THEN (v.month_index / 12) || '-Q' || ((v.month_index % 12) / 3 + 1) "
        "ELSE (v.month_index / 12) END || ',' || CAST(v.value AS TEXT) || ',' || c.key"
    ),
}


@dataclass(frozen=True, slots=True)
class ValuesAsked:
    under: str
    first: str
    last: str
    elements: tuple[str, ...] = ()

    @property
    def print(self) -> str:
        return fingerprint("values", self.under, self.first, self.last, ",".join(self.elements))


class Placed(Protocol):
    """A row's place in the export's order."""

    @property
    def path(self) -> str: ...

    @property
    def month_index(self) -> int: ...

    @property
    def combo_id(self) -> int: ...


class ValueRow(NamedTuple):
    code: str
    element: str
    period: str  # in the element's own period type: 2024-03, 2024-Q1, 2024
    value: float
    disaggregation: str
    # When the value was stored and who made its last change: read for DHIS2 only.
    updated_at: dt.datetime | None
    stored_by: str | None
    # The row's place in the export's order (a ValuePosition, without building one a row).
    path: str
    month_index: int
    combo_id: int


class ValueLine(NamedTuple):
    """Rows as the database wrote them: CSV lines (one row's, or a unit's rows' joined),
    and the place of the last of them."""

    line: str
    path: str
    month_index: int
    combo_id: int
    values: int = 1


class ValueExport:
    """Stored values of a subtree whose period starts from `from`'s start to `to`'s end."""

    kind = "values"

    def __init__(
        self,
        context: Context,
        asked: ValuesAsked,
        *,
        after: str | None = None,
        values_per_page: int | None = None,
        authors: bool = False,
        lines: bool = False,
    ) -> None:
        self.context = context
        self.asked = asked
        self.after = after
        self.values_per_page = values_per_page or VALUES_PER_PAGE
        self.lines_per_page = values_per_page or LINES_PER_PAGE
        self.authors = authors
        self.lines = lines
        self.print = asked.print
        self.elements: list[ElementInfo] = []
        self.position: ValuePosition | None = None
        self._root: Jurisdiction | None = None
        self._combos: dict[int, tuple[str, str, PeriodType]] = {}
        self._months = (0, 0)
        self._filtered = False

    @property
    def name_parts(self) -> tuple[str, str, str]:
        return (self.asked.under, self.asked.first, self.asked.last)

    def cursor(self, row: Placed) -> str:
        return value_cursor(self.print, ValuePosition(row.path, row.month_index, row.combo_id))

    @property
    def options_shown(self) -> list[ElementInfo]:
        return self.elements

    async def prepare(self) -> None:
        asked = self.asked
        index = await self.context.catalogue()
        self._months = month_range(index, asked.first, asked.last)
        if asked.elements:
            self.elements = [
                element_argument(index, code, argument="elements") for code in asked.elements
            ]
        else:
            self.elements = [index.elements[code] for code in sorted(index.elements)]
        self._filtered = bool(asked.elements)
        self._combos = {
            combo_id: (element.code, key, element.period_type)
            for element in self.elements
            for key, combo_id in element.combos.items()
        }
        root = await export_root(self.context, asked.under)
        self.context.require(Action.READ_VALUES, root)
        self._root = root
        position = decode_value_cursor(self.after, self.print)
        if position is not None and not position.path.startswith(root.path):
            raise BadUserInput(f"after: the cursor's unit does not lie under {root.code}")
        self.position = position

    def row_count(self, page: Sequence[Any]) -> int:
        """How many values a page holds (a page of a unit's lines holds several a row)."""
        if self.lines and self._grouped:
            return sum(chunk.values for chunk in page)
        return len(page)

    @property
    def _page_size(self) -> int:
        # A page of lines is one string a row: as many rows as PostgreSQL's pages hold.
        return self.lines_per_page if self.lines else self.values_per_page

    @property
    def _grouped(self) -> bool:
        # PostgreSQL joins each unit's lines in order (string_agg … ORDER BY): a row a
        # unit crosses to Python, not a row a value. SQLite's group_concat has no order
        # before 3.44: a row a value there.
        return self.context.session.dialect == "postgresql"

    async def pages(self) -> AsyncIterator[Sequence[Any]]:
        """Pages of ValueRow (or ValueLine, for lines) after the cursor if one was given."""
        position = self.position
        if self.lines and self._grouped:
            async for page in self._unit_pages(position):
                yield page
            return
        # (combo, month) → the row's element, period and key: a year has few of them.
        cells: dict[tuple[int, int], tuple[str, str, str] | None] = {}
        found = await self.context.session.rows(self._page(position))
        while True:
            # The next page is read (in the database's thread or server) while this one is
            # formatted and sent; a full page is the only sign that another may follow.
            upcoming: asyncio.Future[Sequence[Any]] | None = None
            if len(found) >= self._page_size:
                last = found[-1]
                position = ValuePosition(last.path, last.month_index, last.combo_id)
                upcoming = asyncio.ensure_future(self.context.session.rows(self._page(position)))
            try:
                if self.lines:
                    yield cast(Sequence[ValueLine], found)
                else:
                    yield await self._rows(found, cells)
            except BaseException:
                # The client left or the export failed: the statement already sent runs to
                # its end in the session (which the door settles before closing it).
                if upcoming is not None:
                    upcoming.cancel()
                raise
            if upcoming is None:
                return
            found = await upcoming

    async def _unit_pages(self, position: ValuePosition | None) -> AsyncIterator[list[ValueLine]]:
        """Pages of whole units' lines (the rest of the cursor's unit first), about
        lines_per_page lines each."""
        units = FIRST_UNITS
        while True:
            found = await self.context.session.rows(self._unit_lines(position, units))
            chunks = [
                ValueLine(row.lines, row.path, row.last // _SPLIT, row.last % _SPLIT, row.n)
                for row in found
            ]
            yield chunks
            if len(found) < units:
                return
            last = chunks[-1]
            position = ValuePosition(last.path, last.month_index, last.combo_id)
            per_unit = max(1, sum(chunk.values for chunk in chunks) // len(chunks))
            units = max(FIRST_UNITS, min(MAX_UNITS, self.lines_per_page // per_unit))

    async def _rows(
        self, found: Sequence[Any], cells: dict[tuple[int, int], tuple[str, str, str] | None]
    ) -> list[ValueRow]:
        authors = await self._authors(found) if self.authors and found else {}
        rows: list[ValueRow] = []
        add, make = rows.append, ValueRow._make
        for row in found:
            path, code, month, combo_id, value = row[:5]
            cell = cells.get((combo_id, month))
            if cell is None:
                if (combo_id, month) in cells:
                    continue
                cell = cells[combo_id, month] = self._cell(combo_id, month)
                if cell is None:
                    continue
            element, label, key = cell
            updated_at = by = None
            if self.authors:
                updated_at = row[5]
                by = authors.get((row[6], combo_id, month))
            add(make((code, element, label, value, key, updated_at, by, path, month, combo_id)))
        return rows

    def _cell(self, combo_id: int, month: int) -> tuple[str, str, str] | None:
        described = self._combos.get(combo_id)
        if described is None:
            return None
        element, key, period_type = described
        return element, str(Period(month // 12, month % 12 + 1, period_type)), key

    def _values(self) -> FromClause:
        """The values of the asked months (and combos), as `v`: per unit on PostgreSQL."""
        start, end = self._months
        chosen = _VALUES.alias("dv" if self.context.session.dialect == "postgresql" else "v")
        clauses: list[ColumnElement[bool]] = [
            chosen.c.month_index >= start,
            chosen.c.month_index < end,
        ]
        if self._filtered:
            clauses.append(chosen.c.combo_id.in_(sorted(self._combos)))
        if self.context.session.dialect != "postgresql":
            return chosen
        columns = [chosen.c.jurisdiction_id, chosen.c.month_index, chosen.c.combo_id]
        columns += [chosen.c.value, chosen.c.updated_at]
        return (
            select(*columns).where(chosen.c.jurisdiction_id == _UNITS.c.id, *clauses).lateral("v")
        )

    def _source(
        self, position: ValuePosition | None
    ) -> tuple[FromClause, FromClause, list[ColumnElement[bool]]]:
        """The units joined to their values (`v`), and what keeps the rows of the export
        after the position."""
        assert self._root is not None, "prepare() first"
        j, v = _UNITS.c, self._values()
        joined = (
            _UNITS.join(v, true())
            if self.context.session.dialect == "postgresql"
            else _UNITS.join(v, v.c.jurisdiction_id == j.id)
        )
        where: list[ColumnElement[bool]] = [within(j.path, self._root.path)]
        if self.context.session.dialect != "postgresql":
            start, end = self._months
            where += [v.c.month_index >= start, v.c.month_index < end]
            if self._filtered:
                where.append(v.c.combo_id.in_(sorted(self._combos)))
        if position is not None:
            where += [
                j.path >= position.path,
                or_(
                    j.path > position.path,
                    v.c.month_index > position.month_index,
                    and_(
                        v.c.month_index == position.month_index,
                        v.c.combo_id > position.combo_id,
                    ),
                ),
            ]
        if self.lines:
            joined = joined.join(_COMBOS, _COMBOS.c.id == v.c.combo_id).join(
                _ELEMENTS, _ELEMENTS.c.id == _COMBOS.c.element_id
            )
        return joined, v, where

    def _line(self) -> ColumnElement[str]:
        return literal_column(_LINES[self.context.session.dialect], String)

    def _page(self, position: ValuePosition | None) -> Select[*tuple[Any, ...]]:
        joined, v, where = self._source(position)
        j = _UNITS.c
        if self.lines:
            columns: list[Any] = [self._line().label("line"), j.path, v.c.month_index]
            columns.append(v.c.combo_id)
        else:
            columns = [j.path, j.code, v.c.month_index, v.c.combo_id, v.c.value]
            if self.authors:
                columns += [v.c.updated_at, v.c.jurisdiction_id]
        statement = select(*columns).select_from(joined).where(*where)
        statement = self.context.scope(Action.READ_VALUES).within_scope(statement, j.path)
        order = (j.path, v.c.month_index, v.c.combo_id)
        return statement.order_by(*order).limit(self._page_size)

    def _unit_lines(self, position: ValuePosition | None, units: int) -> Select[*tuple[Any, ...]]:
        """Up to `units` units' lines, each unit's joined in the export's order, with the
        key of its last row: month_index * 2**31 + combo_id orders as (month, combo)."""
        joined, v, where = self._source(position)
        j = _UNITS.c
        key = cast_(v.c.month_index, BigInteger) * _SPLIT + v.c.combo_id
        newline = literal_column("E'\\n'", String)
        statement = (
            select(
                j.path,
                func.string_agg(
                    self._line(), aggregate_order_by(newline, v.c.month_index, v.c.combo_id)
                ).label("lines"),
                func.count().label("n"),
                func.max(key).label("last"),
            )
            .select_from(joined)
            .where(*where)
            .group_by(j.path)
        )
        statement = self.context.scope(Action.READ_VALUES).within_scope(statement, j.path)
        return statement.order_by(j.path).limit(units)

    async def _authors(self, found: Sequence[Any]) -> dict[tuple[int, int, int], str]:
        """Who made each value's last change: one statement for the page's units."""
        units = sorted({row[6] for row in found})
        start, end = self._months
        latest = (
            select(func.max(ValueChange.id))
            .where(
                ValueChange.jurisdiction_id.in_(units),
                ValueChange.month_index >= start,
                ValueChange.month_index < end,
            )
            .group_by(ValueChange.jurisdiction_id, ValueChange.combo_id, ValueChange.month_index)
        )
        statement = (
            select(
                ValueChange.jurisdiction_id,
                ValueChange.combo_id,
                ValueChange.month_index,
                ChangeSet.actor,
            )
            .join(ChangeSet, ChangeSet.id == ValueChange.change_set_id)
            .where(ValueChange.id.in_(latest))
        )
        rows = await self.context.session.rows(unscoped(statement, why=_CHECKED))
        return {(unit, combo, month): actor for unit, combo, month, actor in rows}
