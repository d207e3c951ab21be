"""Assessing many units for a year at once: their targets, the thresholds above them and
their figures, each read as one batch, whatever the number of units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from authz.roles import Action
from core.errors import BadUserInput
from indicators.assessment import Actual, Assessment, Basis, TargetSpec, assess
from indicators.catalogue_index import CatalogueIndex, ElementInfo
from indicators.periods import Period, PeriodError
from indicators.reporting.coverage import unapproved
from indicators.rollups.evaluation import ElementPlan, Figures, IndicatorPlan, UnitBucket
from indicators.rollups.reading import read_figures
from indicators.targets.reading import StoredTarget, targets_of
from indicators.targets.store import year_of
from indicators.targets.thresholds import thresholds_for
from resolvers.context import Context
from resolvers.rollups.queries import bucket_of
from tenancy.models import Jurisdiction


def year_argument(index: CatalogueIndex, text: str, *, argument: str = "year") -> Period:
    """The year asked: a calendar year (2024) or a statistical year (2024FP)."""
    try:
        return year_of(index, text)
    except PeriodError as error:
        raise BadUserInput(f"{argument}: {error}") from error


async def bases_of(
    context: Context, units: Sequence[Jurisdiction], period: Period
) -> dict[int, Basis]:
    """Which values each unit's assessment for the period counts: once every month of the
    year is approved at the unit or above (and none reopened), its approved values
    (APPROVED_DATA: locked, they are what is stored); before that, every value stored."""
    months = [month.month_index for month in period.months()]
    missing = await unapproved(context.session, units, months)
    return {unit.id: Basis.ALL_DATA if missing[unit.id] else Basis.APPROVED_DATA for unit in units}


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one target code's actual figure is worked out from a unit's figures."""

    elements: tuple[ElementInfo, ...]
    indicator: IndicatorPlan | None = None
    element: ElementPlan | None = None
    gone: str | None = None

    @classmethod
    def of(cls, index: CatalogueIndex, code: str, period: Period) -> _Plan:
        info = index.indicators.get(code)
        if info is not None:
            return cls(tuple(index.read_by(info)), indicator=IndicatorPlan.of(index, info, period))
        element = index.elements.get(code)
        if element is not None:
            plan = ElementPlan.of(element, element.combos.values(), period)
            return cls((element,), element=plan)
        return cls((), gone=f"the catalogue has no indicator or element {code} any longer")

    def actual(self, bucket: UnitBucket, figures: Figures) -> Actual:
        if self.indicator is not None:
            found = self.indicator.result(bucket, figures)
            return Actual(
                found.value,
                found.name,
                found.unit,
                found.reporting_units,
                found.expected_units,
                found.null_reason,
            )
        if self.element is not None:
            aggregate = self.element.aggregate(bucket, figures)
            return Actual(
                aggregate.value,
                self.element.element.name,
                "",
                aggregate.reporting_units,
                aggregate.expected_units,
                aggregate.null_reason,
            )
        return Actual(None, null_reason=self.gone)


class Assessor:
    """Assessments of many units for one year, in a few statements whatever their number:
    their targets, the thresholds above them and their figures, each read as one batch.

    The units were checked against the caller's scope: each unit's figures cover its own
    subtree, and the thresholds are those of the units above it, the rules it is graded by.
    """

    def __init__(self, context: Context, index: CatalogueIndex, period: Period) -> None:
        self.context = context
        self.index = index
        self.period = period
        self._plans: dict[str, _Plan] = {}

    def plan(self, code: str) -> _Plan:
        found = self._plans.get(code)
        if found is None:
            found = self._plans[code] = _Plan.of(self.index, code, self.period)
        return found

    async def targets(
        self, units: Sequence[Jurisdiction], action: Action = Action.READ_ASSESSMENTS
    ) -> list[list[StoredTarget]]:
        """Each unit's targets for the year, by code: one statement."""
        keys = [(unit.id, self.period.month_index) for unit in units]
        found = await targets_of(self.context.session, self.context.scope(action), keys)
        return [found.get(key, []) for key in keys]

    async def figures(self, buckets: Sequence[UnitBucket]) -> list[Figures]:
        """The store's figures of each bucket, read as every aggregate reads them."""
        found = await read_figures(self.context.session, buckets)
        return [found[bucket] for bucket in buckets]

    def elements(self, targets: Sequence[StoredTarget]) -> list[ElementInfo]:
        """The elements the targets' figures read, by code."""
        read = {e.code: e for t in targets for e in self.plan(t.indicator).elements}
        return [read[code] for code in sorted(read)]

    async def assess(
        self, units: Sequence[Jurisdiction], held: Sequence[list[StoredTarget]]
    ) -> list[Assessment | None]:
        """Each unit's assessment on its targets (the callers checked the units' figures)."""
        context = self.context
        graded = [(u, t) for u, t in zip(units, held, strict=True) if t]
        grading_of = await thresholds_for(context.session, [unit.path for unit, _ in graded])
        thresholds = [grading_of[unit.path] for unit, _ in graded]
        buckets = [bucket_of(unit, self.period, self.elements(t)) for unit, t in graded]
        figures = await self.figures(buckets)
        bases = await bases_of(context, [unit for unit, _ in graded], self.period)
        found: dict[int, Assessment | None] = {}
        for (unit, held_targets), bucket, figured, grading in zip(
            graded, buckets, figures, thresholds, strict=True
        ):
            specs = [
                TargetSpec(t.indicator, t.bound, t.value, t.weight, t.veto) for t in held_targets
            ]
            actuals = [self.plan(t.indicator).actual(bucket, figured) for t in held_targets]
            found[unit.id] = assess(
                self.period, specs, actuals, thresholds=grading, basis=bases[unit.id]
            )
        return [found.get(unit.id) for unit in units]
