"""Aggregates and indicators of one unit and one period, from what the store holds for it.

Pure arithmetic over `Figures` (read by `indicators.rollups.reading`): numerators and
denominators are summed up the tree separately and divided only here, so that a county's
rate is never an average of its villages' rates.
"""

from __future__ import annotations

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
    current: bool
    span: int
    month_index: int

    @classmethod
    def of(cls, unit_id: int, level: Level, current: bool, period: Period) -> UnitBucket:
        return cls(unit_id, level, current, period.type.months, period.month_index)


@dataclass(slots=True)
class Figures:
    """What the store holds for one unit and one period."""

    totals: dict[int, float] = field(default_factory=dict)  # combo id → subtree total
    reports: dict[int, int] = field(default_factory=dict)  # element id → units that reported
    below: dict[Level, int] = field(default_factory=dict)  # current units strictly below


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


def expected_units(element: ElementInfo, bucket: UnitBucket, figures: Figures) -> int:
    """Current units of the subtree (the unit included) at the levels that report it."""
    own = 1 if bucket.current and bucket.level in element.reported_at else 0
    return own + sum(figures.below.get(level, 0) for level in element.reported_at)


def _too_fine(element: ElementInfo, period: Period) -> str | None:
    if period.type.months >= element.period_type.months:
        return None
    coarser = " or ".join(t.value for t in PeriodType if t.months >= element.period_type.months)
    return (
        f"{element.code} is reported by {element.period_type.value}; "
        f"ask for a {coarser}, not {period}"
    )


def term_combos(element: ElementInfo, term: Term) -> list[int]:
    """The combos of the element that carry every option the term restricts it to."""
    wanted = {f"{category}={option}" for category, option in term.options}
    return [combo_id for key, combo_id in element.combos.items() if wanted <= set(key.split(";"))]


def element_aggregate(
    element: ElementInfo,
    combos: Iterable[int],
    period: Period,
    bucket: UnitBucket,
    figures: Figures,
) -> Aggregate:
    """The element (restricted to combos) summed over the subtree, over the period."""
    expected = expected_units(element, bucket, figures)
    reporting = figures.reports.get(element.id, 0)
    reason = _too_fine(element, period)
    if reason is None and reporting == 0:
        reason = f"no unit reported {element.code} for {period}"
    if reason is not None:
        return Aggregate(None, reporting, expected, reason)
    return Aggregate(sum(figures.totals.get(c, 0.0) for c in combos), reporting, expected)


def _form(
    index: CatalogueIndex, form: LinearForm, period: Period, bucket: UnitBucket, figures: Figures
) -> tuple[float | None, Aggregate | None]:
    """The form's value, and its least complete element's aggregate (completeness, reason)."""
    total = 0.0
    weakest: Aggregate | None = None
    for term, coefficient in form.terms:
        element = index.elements[term.element]
        found = element_aggregate(element, term_combos(element, term), period, bucket, figures)
        if weakest is None or (found.value is None, -found.reporting_units) > (
            weakest.value is None,
            -weakest.reporting_units,
        ):
            weakest = found
        if found.value is not None:
            total += coefficient * found.value
    if weakest is not None and weakest.value is None:
        return None, weakest
    return total, weakest


def indicator_result(
    index: CatalogueIndex,
    info: IndicatorInfo,
    period: Period,
    bucket: UnitBucket,
    figures: Figures,
) -> IndicatorResult:
    """numerator / denominator * factor (* 12 or 4 for a yearly rate), or null and why."""
    numerator, top = _form(index, info.numerator, period, bucket, figures)
    denominator, bottom = _form(index, info.denominator, period, bucket, figures)
    completeness = top or bottom
    reporting = completeness.reporting_units if completeness else 0
    expected = completeness.expected_units if completeness else 0
    reason = None
    value = None
    if numerator is None and top is not None:
        reason = top.null_reason
    elif denominator is None and bottom is not None:
        reason = bottom.null_reason
    elif denominator == 0:
        reason = f"the denominator ({info.denominator}) is 0 for {period}"
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
    )
