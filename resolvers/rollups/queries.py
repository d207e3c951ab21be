"""Aggregates and indicators of one unit: check the caller, parse, load figures, evaluate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TypeVar

from authz.roles import Action
from core.errors import BadUserInput, Forbidden, shown
from indicators.catalogue_index import CatalogueIndex, ElementInfo, IndicatorInfo
from indicators.formulas import Term
from indicators.periods import Period
from indicators.reporting.coverage import unapproved
from indicators.reporting.expected import month_text
from indicators.rollups.evaluation import (
    Aggregate,
    IndicatorResult,
    UnitBucket,
    element_aggregate,
    indicator_result,
    term_combos,
)
from resolvers.context import Context
from resolvers.periods import period_argument
from resolvers.rollups.loaders import FiguresLoader
from tenancy.levels import Level
from tenancy.models import Jurisdiction

MAX_CODES = 50


def element_argument(index: CatalogueIndex, code: str, *, argument: str) -> ElementInfo:
    try:
        return index.element(code)
    except ValueError as error:
        raise BadUserInput(f"{argument}: {error}") from error


def indicator_argument(index: CatalogueIndex, code: str, *, argument: str) -> IndicatorInfo:
    try:
        return index.indicator(code)
    except ValueError as error:
        raise BadUserInput(f"{argument}: {error}") from error


def combos_argument(element: ElementInfo, disaggregation: str | None) -> tuple[int, ...]:
    """The element's combos that carry every option named (all of them when none is)."""
    wanted: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (disaggregation or "").split(";"))):
        category, _, option = (piece.strip() for piece in part.partition("="))
        if category not in element.categories:
            known = ", ".join(element.categories) or "none"
            raise BadUserInput(
                f"disaggregation: {element.code} has no category {shown(category)} "
                f"(it has: {known})"
            )
        if option not in element.categories[category]:
            options = ", ".join(element.categories[category])
            raise BadUserInput(
                f"disaggregation: {category} has no option {shown(option)} (one of: {options})"
            )
        wanted[category] = option
    return term_combos(element, Term(element.code, tuple(sorted(wanted.items()))))


def require_figures(
    context: Context, unit: Jurisdiction, *, level: Level, elements: Iterable[ElementInfo]
) -> None:
    """FORBIDDEN unless the caller may read values at the unit, when figures of the elements
    at units of the level (the unit itself, or a grid's rows under it) can be reports.

    Every path to a figure (value, indicator(s), rollup, series) calls this after its check
    of aggregates or indicators. Above the levels that report an element, its figures are
    sums of several units' reports; at or below them a figure is one unit's report (a
    village's births), and so is an indicator's figure once its other elements are known.
    Reading those is reading values: the unit must lie in the caller's scope for them.
    """
    raw = [element for element in elements if element.raw_at(level)]
    if not raw or context.scope(Action.READ_VALUES).contains(unit.path):
        return
    element = min(raw, key=lambda e: e.code)
    levels = " and ".join(sorted(reporting.value for reporting in element.reported_at))
    raise Forbidden(
        f"{unit.code}: {element.code} is reported by {levels} units, so its figures at the "
        f"{level.value} level are reported values, and the values there are outside your access"
    )


def bucket_of(unit: Jurisdiction, period: Period, elements: Iterable[ElementInfo]) -> UnitBucket:
    """The unit's bucket of the period, for figures of the elements."""
    return UnitBucket.of(
        unit.id, unit.level, unit.valid_to, period, (element.id for element in elements)
    )


async def value(
    context: Context,
    unit: Jurisdiction,
    *,
    element: str,
    period: str,
    disaggregation: str | None,
    approved_only: bool = False,
) -> Aggregate:
    """The element summed over the unit's subtree and over the period (withheld, saying
    why, when only approved data is asked and some month of it is not)."""
    context.require(Action.READ_AGGREGATES, unit)
    index = await context.catalogue()
    info = element_argument(index, element, argument="element")
    require_figures(context, unit, level=unit.level, elements=[info])
    combos = combos_argument(info, disaggregation)
    asked = period_argument(index, period)
    bucket = bucket_of(unit, asked, [info])
    figures = await context.loader(FiguresLoader, Action.READ_AGGREGATES).load(bucket)
    found = element_aggregate(info, combos, asked, bucket, figures)
    reason = await _not_approved(context, unit, asked) if approved_only else None
    return withheld(found, reason)


async def not_approved(
    context: Context, units: list[Jurisdiction], period: Period
) -> dict[int, str | None]:
    """Why each unit's figures of the period are not approved data (None where they are)."""
    months = [month.month_index for month in period.months()]
    missing = await unapproved(context.session, units, months)
    found: dict[int, str | None] = {}
    for unit in units:
        months_missing = missing[unit.id]
        if not months_missing:
            found[unit.id] = None
            continue
        shown_months = ", ".join(month_text(m) for m in months_missing[:3])
        more = f" and {len(months_missing) - 3} more" if len(months_missing) > 3 else ""
        found[unit.id] = (
            f"not approved data: {shown_months}{more} not approved at {unit.code} or above"
        )
    return found


Figure = TypeVar("Figure", Aggregate, IndicatorResult, Aggregate | IndicatorResult)


def withheld(found: Figure, reason: str | None) -> Figure:
    """The figure, or where reason says it is not approved data, none (with the reason)."""
    if reason is None:
        return found
    if isinstance(found, IndicatorResult):
        return replace(found, value=None, numerator=None, denominator=None, null_reason=reason)
    return replace(found, value=None, null_reason=reason)


async def _not_approved(context: Context, unit: Jurisdiction, period: Period) -> str | None:
    return (await not_approved(context, [unit], period))[unit.id]


async def _results(
    context: Context,
    unit: Jurisdiction,
    chosen: list[IndicatorInfo],
    period: str,
    approved_only: bool = False,
) -> list[IndicatorResult]:
    index = await context.catalogue()
    read = [element for info in chosen for element in index.read_by(info)]
    require_figures(context, unit, level=unit.level, elements=read)
    asked = period_argument(index, period)
    bucket = bucket_of(unit, asked, read)
    figures = await context.loader(FiguresLoader, Action.READ_INDICATORS).load(bucket)
    found = [indicator_result(index, info, asked, bucket, figures) for info in chosen]
    reason = await _not_approved(context, unit, asked) if approved_only else None
    return [withheld(result, reason) for result in found]


async def indicators(
    context: Context,
    unit: Jurisdiction,
    *,
    codes: list[str] | None,
    period: str,
    approved_only: bool = False,
) -> list[IndicatorResult]:
    """The indicators asked (all of the catalogue's when codes is null), in the order asked."""
    context.require(Action.READ_INDICATORS, unit)
    index = await context.catalogue()
    if codes is not None and len(codes) > MAX_CODES:
        raise BadUserInput(f"codes: at most {MAX_CODES} at once")
    chosen = (
        [indicator_argument(index, code, argument="codes") for code in codes]
        if codes is not None
        else [index.indicators[code] for code in sorted(index.indicators)]
    )
    return await _results(context, unit, chosen, period, approved_only)


async def indicator(
    context: Context, unit: Jurisdiction, *, code: str, period: str, approved_only: bool = False
) -> IndicatorResult:
    context.require(Action.READ_INDICATORS, unit)
    info = indicator_argument(await context.catalogue(), code, argument="code")
    (found,) = await _results(context, unit, [info], period, approved_only)
    return found
