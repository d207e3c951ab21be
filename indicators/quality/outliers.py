"""Outliers: values far from their unit's own history, per element and option combination.

A unit's figure for a period is scored against its figures for earlier periods of the same
type: the `history` periods just before it, or (the seasonal methods) the same month or
quarter of up to `seasonal_years` earlier years, since births are seasonal. Periods the unit
did not report are left out of its history, never counted as 0.

A village's figures are its reported values, read from data_values; a unit above is scored
on its roll-up, read from the store (`read_figures`), so that a township's history is its
subtree's totals as every other reader sees them. Each batch of units is read in one or two
statements whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from sqlalchemy import Table, select

from core.db.session import RequestSession
from core.errors import BadUserInput, shown
from indicators.catalogue_index import CatalogueIndex, ElementInfo
from indicators.models import DataValue
from indicators.periods import Period, PeriodError, PeriodType
from indicators.quality.listing import Examine
from indicators.quality.scores import Score, modified_z_score, z_score
from indicators.quality.settings import OutlierSettings
from indicators.rollups.evaluation import UnitBucket
from indicators.rollups.models import LEAF
from indicators.rollups.reading import read_figures
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.scope import unscoped

V = cast(Table, DataValue.__table__).c
_CHECKED = "the units were checked against the caller's scope for their values"


class OutlierMethod(StrEnum):
    Z_SCORE = "z_score"
    MODIFIED_Z_SCORE = "modified_z_score"
    SEASONAL_Z_SCORE = "seasonal_z_score"
    SEASONAL_MODIFIED_Z_SCORE = "seasonal_modified_z_score"

    @property
    def seasonal(self) -> bool:
        return self in (OutlierMethod.SEASONAL_Z_SCORE, OutlierMethod.SEASONAL_MODIFIED_Z_SCORE)

    @property
    def robust(self) -> bool:
        """Whether it scores by the median and MAD rather than the mean and SD."""
        return self in (OutlierMethod.MODIFIED_Z_SCORE, OutlierMethod.SEASONAL_MODIFIED_Z_SCORE)


class Severity(StrEnum):
    MODERATE = "moderate"
    EXTREME = "extreme"


@dataclass(frozen=True, slots=True)
class Outlier:
    unit: Jurisdiction
    element: ElementInfo
    disaggregation: str  # the combo's canonical key; empty for an element without categories
    period: Period
    method: OutlierMethod
    value: float
    score: Score
    severity: Severity
    threshold: float  # the one |score| passed: the severity's
    history_first: Period  # the earliest and latest periods of the history that were reported
    history_last: Period


@dataclass(frozen=True, slots=True)
class OutlierSearch:
    period: Period
    elements: Sequence[ElementInfo]
    method: OutlierMethod
    severity: Severity  # the least severity listed
    settings: OutlierSettings

    def history(self) -> list[int]:
        """Month indices of the periods the history is made of, latest first."""
        start, span = self.period.month_index, self.period.type.months
        if self.method.seasonal:
            return [start - 12 * k for k in range(1, self.settings.seasonal_years + 1)]
        return [start - span * k for k in range(1, self.settings.history + 1)]

    def minimum_history(self) -> int:
        settings = self.settings
        return (
            settings.seasonal_minimum_history if self.method.seasonal else settings.minimum_history
        )

    def thresholds(self) -> tuple[float, float]:
        """(moderate, extreme) for the method's score."""
        settings = self.settings
        if self.method.robust:
            return settings.moderate_modified_z, settings.extreme_modified_z
        return settings.moderate_z, settings.extreme_z

    def judged(self, score: Score) -> tuple[Severity, float] | None:
        """The severity and the threshold passed, if the score is listed."""
        moderate, extreme = self.thresholds()
        size = abs(score.score)
        if size > extreme:
            return Severity.EXTREME, extreme
        if size > moderate and self.severity is Severity.MODERATE:
            return Severity.MODERATE, moderate
        return None


def outlier_period(text: str, method: OutlierMethod) -> Period:
    """The period outliers are looked for: a month, a quarter or a calendar year, as values
    are reported (BAD_USER_INPUT otherwise, a statistical year too)."""
    try:
        period = Period.parse(text)
    except PeriodError as error:
        raise BadUserInput(f"period: {error}") from error
    if method.seasonal and period.type is PeriodType.YEAR:
        raise BadUserInput(
            f"method: {method.name} compares the same month or quarter of earlier years; "
            f"{period} is a year: use Z_SCORE or MODIFIED_Z_SCORE"
        )
    return period


def outlier_elements(
    index: CatalogueIndex, level: Level, period: Period, element: str | None
) -> list[ElementInfo]:
    """The elements scored at units of the level: reported by the period's type at the level
    or below it (the one asked, or every such element), in code order."""

    def fits(info: ElementInfo) -> str | None:
        if info.period_type is not period.type:
            kind = period.type.value
            return f"{info.code} is reported by {info.period_type.value}; {period} is a {kind}"
        if not any(reporting.depth >= level.depth for reporting in info.reported_at):
            levels = " and ".join(sorted(r.value for r in info.reported_at))
            return f"{info.code} is reported by {levels} units, none at or below {level.value}s"
        return None

    if element is not None:
        info = index.elements.get(element.strip())
        if info is None:
            raise BadUserInput(f"element: unknown element {shown(element)}")
        why = fits(info)
        if why is not None:
            raise BadUserInput(f"element: {why}")
        return [info]
    return [
        index.elements[code]
        for code in sorted(index.elements)
        if fits(index.elements[code]) is None
    ]


def outlier_search(
    index: CatalogueIndex,
    settings: OutlierSettings,
    *,
    level: Level,
    period: str,
    element: str | None,
    method: OutlierMethod,
    severity: Severity,
) -> OutlierSearch:
    """The search asked, its period and elements checked (BAD_USER_INPUT)."""
    asked = outlier_period(period, method)
    elements = outlier_elements(index, level, asked, element)
    return OutlierSearch(asked, elements, method, severity, settings)


Series = dict[tuple[int, int], dict[int, float]]  # (unit id, combo id) → month index → figure


async def _reported(
    session: RequestSession, units: Sequence[Jurisdiction], combos: list[int], months: list[int]
) -> Series:
    """Villages' own values of the combos in the periods starting at the months."""
    found: Series = defaultdict(dict)
    # Consecutive months are one range of the unique index per unit and combo, rather than
    # one seek per month; the seasonal methods' months, years apart, are seeks.
    consecutive = months == list(range(months[0], months[-1] + 1))
    statement = select(V.jurisdiction_id, V.combo_id, V.month_index, V.value).where(
        V.jurisdiction_id.in_(sorted(unit.id for unit in units)),
        V.combo_id.in_(combos),
        V.month_index.between(months[0], months[-1]) if consecutive else V.month_index.in_(months),
    )
    for unit_id, combo_id, month, value in await session.rows(unscoped(statement, why=_CHECKED)):
        found[unit_id, combo_id][month] = float(value)
    return found


async def _rolled_up(
    session: RequestSession,
    units: Sequence[Jurisdiction],
    elements: Sequence[ElementInfo],
    period_type: PeriodType,
    months: list[int],
) -> Series:
    """Units' subtree totals of the elements' combos in the periods, where any unit of the
    subtree reported the element (a combo no unit reported there is 0: the store's rule)."""
    buckets = [
        UnitBucket.of(unit.id, unit.level, unit.valid_to, Period(m // 12, m % 12 + 1, period_type))
        for unit in units
        for m in months
    ]
    figures = await read_figures(session, buckets)
    found: Series = defaultdict(dict)
    for bucket in buckets:
        held = figures[bucket]
        for element in elements:
            if not held.reports.get(element.id):
                continue
            for combo_id in element.combos.values():
                found[bucket.unit_id, combo_id][bucket.month_index] = held.totals.get(combo_id, 0.0)
    return found


def outlier_examiner(session: RequestSession, search: OutlierSearch) -> Examine[Outlier]:
    """What finds the outliers of a batch of units (all of one level)."""
    history = search.history()
    current = search.period.month_index
    months = sorted([current, *history])
    combos = sorted(c for e in search.elements for c in e.combos.values())
    keys = {c: (e, key) for e in search.elements for key, c in e.combos.items()}

    def period_at(month: int) -> Period:
        return Period(month // 12, month % 12 + 1, search.period.type)

    async def examine(units: Sequence[Jurisdiction]) -> list[tuple[Jurisdiction, str, Outlier]]:
        if not units or not combos:
            return []
        if units[0].level == LEAF:
            series = await _reported(session, units, combos, months)
        else:
            series = await _rolled_up(session, units, search.elements, search.period.type, months)
        by_id = {unit.id: unit for unit in units}
        scorer = modified_z_score if search.method.robust else z_score
        found = []
        for (unit_id, combo_id), figures in series.items():
            value = figures.get(current)
            if value is None:
                continue
            points = [figures[m] for m in history if m in figures]
            if len(points) < search.minimum_history():
                continue
            score = scorer(value, points)
            judged = None if score is None else search.judged(score)
            if score is None or judged is None:
                continue
            element, key = keys[combo_id]
            reported = [m for m in history if m in figures]
            outlier = Outlier(
                unit=by_id[unit_id],
                element=element,
                disaggregation=key,
                period=search.period,
                method=search.method,
                value=value,
                score=score,
                severity=judged[0],
                threshold=judged[1],
                history_first=period_at(min(reported)),
                history_last=period_at(max(reported)),
            )
            found.append((outlier.unit, f"{element.code}:{key}", outlier))
        return found

    return examine
