"""One indicator of one unit over consecutive periods, for charts: one batch of figures."""

from __future__ import annotations

from dataclasses import dataclass

from authz.roles import Action
from core.errors import BadUserInput, NotFound, shown
from indicators.catalogue_index import IndicatorInfo
from indicators.periods import Period
from indicators.rollups.evaluation import IndicatorPlan, IndicatorResult
from resolvers.context import Context
from resolvers.jurisdictions.queries import visible_unit
from resolvers.periods import period_argument
from resolvers.rollups.loaders import FiguresLoader
from resolvers.rollups.queries import (
    bucket_of,
    indicator_argument,
    require_figures,
)
from tenancy.models import Jurisdiction

MAX_PERIODS = 240


@dataclass(frozen=True, slots=True)
class SeriesResult:
    unit: Jurisdiction
    indicator: IndicatorInfo
    periods: list[Period]
    results: list[IndicatorResult]


def _periods(first: Period, last: Period) -> list[Period]:
    """From first to last, both included, each starting where the one before ends: a series
    of statistical years steps by twelve months from the catalogue's month."""
    if first.kind != last.kind:
        raise BadUserInput(
            f"from, to: {first} is a {first.kind} and {last} a {last.kind}; "
            "give two periods of one type"
        )
    if last.month_index < first.month_index:
        raise BadUserInput(f"from, to: {last} comes before {first}")
    periods = [first]
    while periods[-1] != last:
        if len(periods) == MAX_PERIODS:
            raise BadUserInput(f"from, to: at most {MAX_PERIODS} periods at once")
        periods.append(periods[-1].following())
    return periods


async def series(
    context: Context, *, code: str, indicator: str, first: str, last: str
) -> SeriesResult:
    """The indicator for each period from first to last, both included."""
    unit = await visible_unit(context, code, argument="code")
    if unit is None:
        raise NotFound(f"code: no jurisdiction has code {shown(code)}")
    context.require(Action.READ_INDICATORS, unit)
    index = await context.catalogue()
    info = indicator_argument(index, indicator, argument="indicator")
    read = index.read_by(info)
    require_figures(context, unit, level=unit.level, elements=read)
    periods = _periods(
        period_argument(index, first, argument="from"),
        period_argument(index, last, argument="to"),
    )
    buckets = [bucket_of(unit, period, read) for period in periods]
    loader = context.loader(FiguresLoader, Action.READ_INDICATORS)
    figures = await loader.load_many(buckets)
    results = [
        IndicatorPlan.of(index, info, period).result(bucket, found)
        for period, bucket, found in zip(periods, buckets, figures, strict=True)
    ]
    return SeriesResult(unit, info, periods, results)
