"""Aggregates and indicators of one unit and one period, from what the store holds for it.

Pure arithmetic over `Figures` (read by `indicators.rollups.reading`): numerators and
denominators are summed up the tree separately and divided only here, so that a county's
rate is never an average of its villages' rates.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from indicators.catalogue_index import CatalogueIndex, ElementInfo, IndicatorInfo
from indicators.formulas import LinearForm, Term
from indicators.periods import Period, PeriodType
from tenancy.levels import Level


@dataclass(frozen=True, slots=True)
class UnitBucket:
    """One unit (with what completeness needs of it) and one period."""

    unit_id: int
    level: Level
    present: bool  # the unit was not retired before the period began
    span: int
    month_index: int
    # The elements whose figures are wanted, for a bucket the store does not keep (it is
    # measured from the values, element by element); empty for one it keeps, which holds
    # every element's.
    elements: frozenset[int] = frozenset()

    @classmethod
    def of(
        cls,
        unit_id: int,
        level: Level,
        retired_on: dt.date | None,
        period: Period,
        elements: Iterable[int] = (),
    ) -> UnitBucket:
        present = retired_on is None or retired_on > period.start
        span, start = period.type.months, period.month_index
        wanted = frozenset() if start % span == 0 else frozenset(elements)
        return cls(unit_id, level, present, span, start, wanted)

    @property
    def kept(self) -> bool:
        """Whether the store keeps the bucket: calendar months, quarters and years start
        on a multiple of their span. A statistical year that starts in another month than
        January is measured from the values when it is read."""
        return self.month_index % self.span == 0

    @property
    def start(self) -> dt.date:
        return dt.date(self.month_index // 12, self.month_index % 12 + 1, 1)


@dataclass(slots=True)
class Figures:
    """What the store holds for one unit and one period."""

    totals: dict[int, float] = field(default_factory=dict)  # combo id → subtree total
    reports: dict[int, int] = field(default_factory=dict)  # element id → units that reported
    # Units strictly below, not retired before the period began.
    below: dict[Level, int] = field(default_factory=dict)
    # Aggregates already worked out from these figures: indicators share their elements.
    worked: dict[tuple[int, tuple[int, ...]], Aggregate] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Aggregate:
    value: float | None
    reporting_units: int
    expected_units: int
    null_reason: str | None = None


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    code: str
    name: str
    unit: str
    value: float | None
    numerator: float | None
    denominator: float | None
    reporting_units: int
    expected_units: int
    null_reason: str | None = None
    # Each side's own least complete element; reporting_units is the lesser of the two.
    numerator_reporting_units: int = 0
    denominator_reporting_units: int = 0


def _unreadable(element: ElementInfo, period: Period) -> str | None:
    """Why the element has no figure for the period, if it has none: the period is shorter
    than the element's, or starts inside one of them (a calendar year's value does not lie
    in any statistical year that starts in October, nor a quarter's in one that starts in
    November)."""
    span = element.period_type.months
    if period.type.months >= span and period.month_index % span == 0:
        return None
    coarser = " or ".join(t.value for t in PeriodType if t.months >= span)
    reported = f"{element.code} is reported by {element.period_type.value}"
    if period.type.months < span:
        return f"{reported}; ask for a {coarser}, not {period}"
    months = period.months()
    return (
        f"{reported}, and the {period.kind} {period} ({months[0]} to {months[-1]}) starts "
        f"inside one: ask for a calendar {coarser}"
    )


@functools.lru_cache(maxsize=4096)
def term_combos(element: ElementInfo, term: Term) -> tuple[int, ...]:
    """The combos of the element that carry every option the term restricts it to."""
    wanted = {f"{category}={option}" for category, option in term.options}
    return tuple(
        combo_id for key, combo_id in element.combos.items() if wanted <= set(key.split(";"))
    )


@dataclass(frozen=True, slots=True)
class ElementPlan:
    """An element (restricted to combos) over one period, ready for many units."""

    element: ElementInfo
    combos: tuple[int, ...]
    period: Period
    unreadable: str | None
    levels: tuple[Level, ...]

    @classmethod
    def of(cls, element: ElementInfo, combos: Iterable[int], period: Period) -> ElementPlan:
        levels = tuple(element.reported_at)
        return cls(element, tuple(combos), period, _unreadable(element, period), levels)

    def aggregate(self, bucket: UnitBucket, figures: Figures) -> Aggregate:
        """Summed over the unit's subtree and the period, with completeness."""
        key = (self.element.id, self.combos)
        found = figures.worked.get(key)
        if found is None:
            found = figures.worked[key] = self._aggregate(bucket, figures)
        return found

    def _aggregate(self, bucket: UnitBucket, figures: Figures) -> Aggregate:
        reporting, expected, reason = self._completeness(bucket, figures)
        if reason is not None:
            return Aggregate(None, reporting, expected, reason)
        totals = figures.totals
        # sum()'s own arithmetic (from the integer 0), as plain loops: a province's grid
        # or export works out tens of thousands of these.
        value: float = 0
        for combo in self.combos:
            value += totals.get(combo, 0.0)
        return Aggregate(value, reporting, expected)

    def each_combo(self, bucket: UnitBucket, figures: Figures) -> list[Aggregate]:
        """The aggregate of each of the plan's combos alone, in the plan's order: what
        `ElementPlan.of(element, [combo], period).aggregate` gives for each, with the
        element's completeness worked out once."""
        reporting, expected, reason = self._completeness(bucket, figures)
        if reason is not None:
            withheld = Aggregate(None, reporting, expected, reason)
            return [withheld] * len(self.combos)
        totals = figures.totals
        return [Aggregate(0 + totals.get(c, 0.0), reporting, expected) for c in self.combos]

    def _completeness(self, bucket: UnitBucket, figures: Figures) -> tuple[int, int, str | None]:
        """Units that reported the element, units expected to, and why there is no value
        (None when there is one)."""
        element = self.element
        expected = 1 if bucket.present and bucket.level in element.reported_at else 0
        below = figures.below
        for level in self.levels:
            expected += below.get(level, 0)
        reporting = figures.reports.get(element.id, 0)
        reason = self.unreadable
        if reason is None and reporting == 0:
            reason = f"no unit reported {element.code} for {self.period}"
        return reporting, expected, reason


def element_aggregate(
    element: ElementInfo,
    combos: Iterable[int],
    period: Period,
    bucket: UnitBucket,
    figures: Figures,
) -> Aggregate:
    """The element (restricted to combos) summed over the subtree, over the period."""
    return ElementPlan.of(element, combos, period).aggregate(bucket, figures)


Side = tuple[tuple[ElementPlan, int], ...]


def _side(index: CatalogueIndex, form: LinearForm, period: Period) -> Side:
    return tuple(
        (
            ElementPlan.of(
                index.elements[t.element], term_combos(index.elements[t.element], t), period
            ),
            c,
        )
        for t, c in form.terms
    )


def _form(
    side: Side, bucket: UnitBucket, figures: Figures
) -> tuple[float | None, Aggregate | None]:
    """The form's value, and its least complete element's aggregate (completeness, reason)."""
    total = 0.0
    weakest: Aggregate | None = None
    for plan, coefficient in side:
        found = plan.aggregate(bucket, figures)
        weakest = _weaker(weakest, found)
        if found.value is not None:
            total += coefficient * found.value
    if weakest is not None and weakest.value is None:
        return None, weakest
    return total, weakest


def _weaker(one: Aggregate | None, other: Aggregate | None) -> Aggregate | None:
    """The less complete of two aggregates: a missing value first, then the smaller share of
    its expected units that reported, then fewer reporting units."""
    if one is None or other is None:
        return other if one is None else one

    def rank(found: Aggregate) -> tuple[bool, float, int]:
        share = found.reporting_units / found.expected_units if found.expected_units else 0.0
        return (found.value is None, -share, -found.reporting_units)

    return other if rank(other) > rank(one) else one


@dataclass(frozen=True, slots=True)
class IndicatorPlan:
    """An indicator over one period, ready for many units."""

    info: IndicatorInfo
    period: Period
    numerator: Side
    denominator: Side
    zero: str  # the null reason when the denominator is 0

    @classmethod
    def of(cls, index: CatalogueIndex, info: IndicatorInfo, period: Period) -> IndicatorPlan:
        zero = f"the denominator ({info.denominator}) is 0 for {period}"
        return cls(
            info,
            period,
            _side(index, info.numerator, period),
            _side(index, info.denominator, period),
            zero,
        )

    def result(self, bucket: UnitBucket, figures: Figures) -> IndicatorResult:
        """numerator / denominator * factor (* 12 or 4 for a yearly rate), or null and why."""
        info, period = self.info, self.period
        numerator, top = _form(self.numerator, bucket, figures)
        denominator, bottom = _form(self.denominator, bucket, figures)
        # Both sides count: births of four villages over the population of one is not a
        # figure four villages reported.
        completeness = _weaker(top, bottom)
        reporting = completeness.reporting_units if completeness else 0
        expected = completeness.expected_units if completeness else 0
        reason = None
        value = None
        if numerator is None and top is not None:
            reason = top.null_reason
        elif denominator is None and bottom is not None:
            reason = bottom.null_reason
        elif denominator == 0:
            reason = self.zero
        elif numerator is not None and denominator is not None:
            scale = 12 / period.type.months if info.annualize else 1
            value = numerator / denominator * info.factor * scale
        return IndicatorResult(
            code=info.code,
            name=info.name,
            unit=info.unit,
            value=value,
            numerator=numerator,
            denominator=denominator,
            reporting_units=reporting,
            expected_units=expected,
            null_reason=reason,
            numerator_reporting_units=top.reporting_units if top else 0,
            denominator_reporting_units=bottom.reporting_units if bottom else 0,
        )


def indicator_result(
    index: CatalogueIndex,
    info: IndicatorInfo,
    period: Period,
    bucket: UnitBucket,
    figures: Figures,
) -> IndicatorResult:
    """One indicator of one unit (many units: build an IndicatorPlan once)."""
    return IndicatorPlan.of(index, info, period).result(bucket, figures)
