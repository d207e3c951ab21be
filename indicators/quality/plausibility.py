"""Indicator values outside the plausible ranges the catalogue configures (a sex ratio at birth
outside 100 to 120), per unit and period, from the same figures every reader sees."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.db.session import RequestSession
from indicators.catalogue_index import CatalogueIndex
from indicators.periods import Period
from indicators.quality.listing import Examine
from indicators.quality.settings import PlausibleRange
from indicators.rollups.evaluation import IndicatorPlan, IndicatorResult, UnitBucket
from indicators.rollups.reading import read_figures
from tenancy.models import Jurisdiction


class Bound(StrEnum):
    BELOW_MINIMUM = "below_minimum"
    ABOVE_MAXIMUM = "above_maximum"


@dataclass(frozen=True, slots=True)
class Implausible:
    unit: Jurisdiction
    period: Period
    result: IndicatorResult
    range: PlausibleRange
    bound: Bound


def outside(result: IndicatorResult, plausible: PlausibleRange) -> Bound | None:
    """Which bound the value passes; None for a value inside the range, a null value, or a
    denominator below the range's minimum (too few to judge)."""
    value, denominator = result.value, result.denominator
    if value is None or denominator is None or denominator < plausible.minimum_denominator:
        return None
    if plausible.minimum is not None and value < plausible.minimum:
        return Bound.BELOW_MINIMUM
    if plausible.maximum is not None and value > plausible.maximum:
        return Bound.ABOVE_MAXIMUM
    return None


def plausibility_examiner(
    session: RequestSession, index: CatalogueIndex, period: Period, ranges: Sequence[PlausibleRange]
) -> Examine[Implausible]:
    """What finds the implausible indicator values of a batch of units."""
    plans = [(r, IndicatorPlan.of(index, index.indicators[r.indicator], period)) for r in ranges]
    wanted = sorted({e.id for r in ranges for e in index.read_by(index.indicators[r.indicator])})

    async def examine(units: Sequence[Jurisdiction]) -> list[tuple[Jurisdiction, str, Implausible]]:
        buckets = [UnitBucket.of(u.id, u.level, u.valid_to, period, wanted) for u in units]
        figures = await read_figures(session, buckets)
        found = []
        for unit, bucket in zip(units, buckets, strict=True):
            for plausible, plan in plans:
                result = plan.result(bucket, figures[bucket])
                bound = outside(result, plausible)
                if bound is not None:
                    found.append(
                        (
                            unit,
                            plausible.indicator,
                            Implausible(unit, period, result, plausible, bound),
                        )
                    )
        return found

    return examine
