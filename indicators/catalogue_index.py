"""The catalogue as validation needs it: elements with their options and combos, in memory."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, select

from core.db.session import RequestSession
from core.db.statements import point_read
from core.errors import shown
from indicators.formulas import LinearForm, parse_formula
from indicators.models import (
    CatalogueSettings,
    Category,
    CategoryOption,
    DataElement,
    ElementCategory,
    Indicator,
    OptionCombo,
    TimeAggregation,
    ValueType,
)
from indicators.periods import STATISTICAL_YEAR_STARTS, Period, PeriodError, PeriodType
from tenancy.levels import Level


# Compared and hashed by identity: one object per element per catalogue read.
@dataclass(frozen=True, slots=True, eq=False)
class ElementInfo:
    id: int
    code: str
    name: str
    value_type: ValueType
    period_type: PeriodType
    time_aggregation: TimeAggregation
    reported_at: frozenset[Level]
    # category → its options, in the element's order of categories
    categories: dict[str, tuple[str, ...]]
    # canonical key (`parity=2;sex=male`) → combo id
    combos: dict[str, int]

    def combo_key(self, disaggregation: str) -> str:
        """The canonical key of `sex=male;parity=2`; ValueError saying what is wrong."""
        chosen: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in disaggregation.split(";"))):
            category, _, option = part.partition("=")
            category, option = category.strip(), option.strip()
            if category not in self.categories:
                known = ", ".join(self.categories) or "none"
                raise ValueError(f"{self.code} has no category {shown(category)} (it has: {known})")
            if category in chosen:
                raise ValueError(f"category {category} given twice")
            if option not in self.categories[category]:
                options = ", ".join(self.categories[category])
                raise ValueError(f"{category} has no option {shown(option)} (one of: {options})")
            chosen[category] = option
        missing = [c for c in self.categories if c not in chosen]
        if missing:
            raise ValueError(f"{self.code} needs an option of {', '.join(missing)}")
        return ";".join(f"{c}={chosen[c]}" for c in sorted(chosen))

    def raw_at(self, level: Level) -> bool:
        """Whether a figure at a unit of this level can be a reported value itself: the
        level is at or below the highest that reports the element. A township's funding is
        its own report plus nothing (its villages report none); a county's census count is
        the county's report."""
        return any(level.depth >= reporting.depth for reporting in self.reported_at)

    def period(self, text: str) -> Period:
        """The period a value is reported for, which must be of the element's period type
        (never a statistical year: those are read, not reported)."""
        period = Period.parse(text)
        if period.type is not self.period_type:
            raise PeriodError(
                f"{self.code} is reported by {self.period_type.value}, not by {period.type.value}"
            )
        return period

    def check_value(self, value: float) -> None:
        # The common case in one test (an import checks every row): NaN fails every
        # comparison, infinities the bound.
        whole = self.value_type is not ValueType.INTEGER or value.is_integer()
        if 0 <= value < 1e16 and round(value, 2) == value and whole:
            return
        if not math.isfinite(value):
            raise ValueError("not a number")
        if value < 0:
            raise ValueError(f"{value:g} is negative")
        if self.value_type is ValueType.INTEGER and value != int(value):
            raise ValueError(f"{value:g} is not a whole number; {self.code} counts")
        if round(value, 2) != value:
            raise ValueError(f"{value} has more than two decimals")
        if value >= 1e16:
            raise ValueError(f"{value:g} is too large")


@dataclass(frozen=True, slots=True)
class IndicatorInfo:
    code: str
    name: str
    unit: str
    factor: float
    annualize: bool
    numerator: LinearForm
    denominator: LinearForm


@dataclass(frozen=True, slots=True)
class CatalogueIndex:
    elements: dict[str, ElementInfo]
    by_combo: dict[int, tuple[ElementInfo, str]]
    indicators: dict[str, IndicatorInfo]
    # The month (1–12) the statistical year starts in (`2024FP`).
    statistical_year_starts: int = STATISTICAL_YEAR_STARTS

    def period(self, text: str) -> Period:
        """The period figures are asked for: a month, quarter, year or statistical year
        (`2024FP`, starting in the catalogue's month); PeriodError saying what is wrong."""
        return Period.parse(text, statistical_year_starts=self.statistical_year_starts)

    def element(self, code: str) -> ElementInfo:
        found = self.elements.get(code.strip())
        if found is None:
            raise ValueError(f"unknown element {shown(code)}")
        return found

    def indicator(self, code: str) -> IndicatorInfo:
        found = self.indicators.get(code.strip())
        if found is None:
            raise ValueError(f"unknown indicator {shown(code)}")
        return found

    def read_by(self, info: IndicatorInfo) -> list[ElementInfo]:
        """The elements an indicator's figure reads, numerator's and denominator's, by code."""
        codes = info.numerator.elements | info.denominator.elements
        return [self.elements[code] for code in sorted(codes)]


_CATEGORIES = select(Category.id, Category.code)
_OPTIONS = select(CategoryOption.category_id, CategoryOption.code).order_by(
    CategoryOption.category_id, CategoryOption.position
)
_LINKS = select(ElementCategory.element_id, ElementCategory.category_id).order_by(
    ElementCategory.element_id, ElementCategory.position
)
_COMBOS = select(OptionCombo.element_id, OptionCombo.key, OptionCombo.id)
# The catalogue's one row of settings rides on every element's row: a request reads the
# catalogue in as few statements as before it had settings. A catalogue without elements
# has nothing to read figures of, and takes the default.
_ELEMENTS = select(
    DataElement.id,
    DataElement.code,
    DataElement.name,
    DataElement.value_type,
    DataElement.period_type,
    DataElement.time_aggregation,
    DataElement.reported_at,
    select(CatalogueSettings.statistical_year_starts).scalar_subquery(),
)
_INDICATORS = select(
    Indicator.code,
    Indicator.name,
    Indicator.unit,
    Indicator.factor,
    Indicator.annualize,
    Indicator.numerator,
    Indicator.denominator,
)


# Small tables, read whole: on SQLite, with no hand-off to the driver's thread.
_TABLES: tuple[Select[*tuple[Any, ...]], ...] = (
    point_read(_CATEGORIES),
    point_read(_OPTIONS),
    point_read(_LINKS),
    point_read(_COMBOS),
    point_read(_ELEMENTS),
    point_read(_INDICATORS),
)
Rows = list[tuple[Any, ...]]
# The index last built, with the rows it was built from. Every request reads the rows (so
# that what it computes is the catalogue of its own transaction); only when they differ
# from these is the index built again: parsing the formulas costs more than the reads.
# Nothing changes an index once built. (One entry, or none yet.)
_LAST: list[tuple[list[Rows], CatalogueIndex]] = []


async def catalogue_index(session: RequestSession) -> CatalogueIndex:
    """Read the catalogue's elements, categories, options and combos (a few small tables)."""
    return _index([[tuple(r) for r in await session.rows(table)] for table in _TABLES])


def catalogue_index_sync(connection: Connection) -> CatalogueIndex:
    """The same, for commands working on a synchronous connection."""
    return _index([[tuple(r) for r in connection.execute(table)] for table in _TABLES])


def _index(tables: list[Rows]) -> CatalogueIndex:
    # Read once: a command's thread (the demo's seeding) may replace the entry meanwhile.
    last = _LAST[0] if _LAST else None
    if last is not None and last[0] == tables:
        return last[1]
    index = _build(*tables[:5], indicators=tables[5])
    _LAST[:] = [(tables, index)]
    return index


def _build(
    categories: Rows,
    options: Rows,
    links: Rows,
    combos: Rows,
    elements: Rows,
    *,
    indicators: Rows,
) -> CatalogueIndex:
    category_codes: dict[int, str] = dict(categories)
    option_codes: dict[int, list[str]] = {}
    for category_id, code in options:
        option_codes.setdefault(category_id, []).append(code)
    element_links: dict[int, list[int]] = {}
    for element_id, category_id in links:
        element_links.setdefault(element_id, []).append(category_id)
    element_combos: dict[int, dict[str, int]] = {}
    for element_id, key, combo_id in combos:
        element_combos.setdefault(element_id, {})[key] = combo_id
    infos = {}
    starts = STATISTICAL_YEAR_STARTS
    for row in elements:
        element_id, code, name, value_type, period_type, aggregation, reported_at, starts = row
        infos[code] = ElementInfo(
            id=element_id,
            code=code,
            name=name,
            value_type=ValueType(value_type),
            period_type=PeriodType(period_type),
            time_aggregation=TimeAggregation(aggregation),
            reported_at=frozenset(Level(v) for v in reported_at.split(",") if v),
            categories={
                category_codes[c]: tuple(option_codes.get(c, ()))
                for c in element_links.get(element_id, [])
            },
            combos=element_combos.get(element_id, {}),
        )
    by_combo = {
        combo_id: (info, key) for info in infos.values() for key, combo_id in info.combos.items()
    }
    shapes = {code: info.categories for code, info in infos.items()}
    formulas = {
        code: IndicatorInfo(
            code=code,
            name=name,
            unit=unit,
            factor=factor,
            annualize=annualize,
            numerator=parse_formula(numerator, shapes),
            denominator=parse_formula(denominator, shapes),
        )
        for code, name, unit, factor, annualize, numerator, denominator in indicators
    }
    return CatalogueIndex(infos, by_combo, formulas, starts)


def current_elements(
    element_ids: Iterable[int],
) -> Select[int, ValueType, PeriodType, TimeAggregation, str]:
    """The elements' attributes as stored now: what `stale_elements` compares."""
    return current_elements_in(sorted(set(element_ids)))


def current_elements_in(
    element_ids: Select[Any] | list[int],
) -> Select[int, ValueType, PeriodType, TimeAggregation, str]:
    """The same, for the elements a select names."""
    return select(
        DataElement.id,
        DataElement.value_type,
        DataElement.period_type,
        DataElement.time_aggregation,
        DataElement.reported_at,
    ).where(DataElement.id.in_(element_ids))


def stale_elements(index: CatalogueIndex, rows: Iterable[tuple[Any, ...]]) -> list[str]:
    """Codes of the elements whose stored attributes (rows of `current_elements`) are no
    longer what the index was built from: the catalogue changed since it was read."""
    by_id = {element.id: element for element in index.elements.values()}
    stale = []
    for element_id, value_type, period_type, aggregation, reported_at in rows:
        known = by_id.get(element_id)
        now = (str(value_type), str(period_type), str(aggregation), set(reported_at.split(",")))
        if known is None or now != (
            known.value_type.value,
            known.period_type.value,
            known.time_aggregation.value,
            {level.value for level in known.reported_at},
        ):
            stale.append(known.code if known else str(element_id))
    return sorted(stale)
