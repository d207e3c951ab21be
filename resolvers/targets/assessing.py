"""Assessing many units for a year at once: their targets, the thresholds above them and
their figures, each read as one batch, whatever the number of units."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from authz.roles import Action
from core.db.session import RequestSession
from core.errors import BadUserInput, QuhuaError
from indicators.assessment import Actual, Assessment, Basis, TargetSpec, assess
from indicators.catalogue_index import CatalogueIndex, ElementInfo
from indicators.periods import Period, PeriodError
from indicators.rollups.evaluation import ElementPlan, Figures, IndicatorPlan, UnitBucket
from indicators.targets.models import Target
from indicators.targets.store import year_of
from resolvers.context import Context
from resolvers.dataloader import Loader
from resolvers.rollups.loaders import FiguresLoader
from resolvers.rollups.queries import bucket_of, require_figures
from resolvers.targets.loaders import TargetsByUnitYearLoader, ThresholdsByPathLoader
from tenancy.models import Jurisdiction
from tenancy.scope import Scope


def year_argument(index: CatalogueIndex, text: str, *, argument: str = "year") -> Period:
    """The year asked: a calendar year (2024) or a statistical year (2024FP)."""
    try:
        return year_of(index, text)
    except PeriodError as error:
        raise BadUserInput(f"{argument}: {error}") from error


def basis_of(units: Sequence[Jurisdiction], period: Period) -> Basis:
    """Which values an assessment of the units for the period counts: every value stored.
    Once approvals exist (indicators.reporting), a year whose approvals are in counts its
    approved values only (APPROVED_DATA), read by a loader of those figures."""
    del units, period
    return Basis.ALL_DATA


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
    their targets, the thresholds above them and their figures, each loaded as one batch."""

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

    async def targets(self, units: Sequence[Jurisdiction]) -> list[list[Target]]:
        loader = self.context.loader(TargetsByUnitYearLoader, Action.READ_ASSESSMENTS)
        return await loader.load_many([(unit.id, self.period.month_index) for unit in units])

    def elements(self, targets: Sequence[Target]) -> list[ElementInfo]:
        """The elements the targets' figures read, by code."""
        read = {e.code: e for t in targets for e in self.plan(t.indicator).elements}
        return [read[code] for code in sorted(read)]

    async def assess(
        self, units: Sequence[Jurisdiction], held: Sequence[list[Target]]
    ) -> list[Assessment | None]:
        """Each unit's assessment on its targets (the callers checked the units' figures)."""
        context = self.context
        basis = basis_of(units, self.period)
        if basis is not Basis.ALL_DATA:
            raise BadUserInput(f"assessments on {basis.value} are not available yet")
        graded = [(u, t) for u, t in zip(units, held, strict=True) if t]
        thresholds = await context.loader(
            ThresholdsByPathLoader, Action.READ_ASSESSMENTS
        ).load_many([unit.path for unit, _ in graded])
        buckets = [bucket_of(unit, self.period, self.elements(t)) for unit, t in graded]
        figures = await context.loader(FiguresLoader, Action.READ_ASSESSMENTS).load_many(buckets)
        found: dict[int, Assessment | None] = {}
        for (unit, held_targets), bucket, figured, grading in zip(
            graded, buckets, figures, thresholds, strict=True
        ):
            specs = [
                TargetSpec(t.indicator, t.bound, t.value, t.weight, t.veto) for t in held_targets
            ]
            actuals = [self.plan(t.indicator).actual(bucket, figured) for t in held_targets]
            found[unit.id] = assess(self.period, specs, actuals, thresholds=grading, basis=basis)
        return [found.get(unit.id) for unit in units]


# A unit and the year as the caller wrote it: fields of sibling units load together, before
# anything is awaited, so that the catalogue is read once for them all and their targets
# and figures in one batch each.
UnitYearText = tuple[Jurisdiction, str]


class _ContextLoader(Loader[UnitYearText, object]):
    """A loader whose batches need the request's other loaders and its catalogue."""

    def __init__(self, session: RequestSession, scope: Scope) -> None:
        del session, scope
        self.context: Context | None = None
        super().__init__(load_fn=self._batch)

    async def _batch(self, keys: list[UnitYearText]) -> list[object]:
        assert self.context is not None
        context = self.context
        index = await context.catalogue()
        found: list[object] = [None] * len(keys)
        by_year: dict[str, list[int]] = defaultdict(list)
        for position, (_, year) in enumerate(keys):
            by_year[year].append(position)
        for year, positions in by_year.items():
            try:
                period = year_argument(index, year)
            except BadUserInput as error:
                for position in positions:
                    found[position] = error
                continue
            units = [keys[position][0] for position in positions]
            for position, answer in zip(
                positions, await self.answer(context, index, period, units), strict=True
            ):
                found[position] = answer
        return found

    async def answer(
        self, context: Context, index: CatalogueIndex, period: Period, units: list[Jurisdiction]
    ) -> list[object]:
        raise NotImplementedError


class TargetsByUnitLoader(_ContextLoader):
    """(unit, year as written) → the unit's targets for the year, by code."""

    async def answer(
        self, context: Context, index: CatalogueIndex, period: Period, units: list[Jurisdiction]
    ) -> list[object]:
        loader = context.loader(TargetsByUnitYearLoader, Action.READ_TARGETS)
        return list(await loader.load_many([(unit.id, period.month_index) for unit in units]))


class AssessmentByUnitLoader(_ContextLoader):
    """(unit, year as written) → the unit's assessment (None without targets), or the error
    that refuses it (its figures are reported values the caller may not read)."""

    async def answer(
        self, context: Context, index: CatalogueIndex, period: Period, units: list[Jurisdiction]
    ) -> list[object]:
        assessor = Assessor(context, index, period)
        held = await assessor.targets(units)
        answers: list[object] = [None] * len(units)
        readable: list[int] = []
        for position, (unit, targets) in enumerate(zip(units, held, strict=True)):
            try:
                require_figures(
                    context, unit, level=unit.level, elements=assessor.elements(targets)
                )
            except QuhuaError as error:
                answers[position] = error
                continue
            readable.append(position)
        graded = await assessor.assess([units[p] for p in readable], [held[p] for p in readable])
        for position, assessment in zip(readable, graded, strict=True):
            answers[position] = assessment
        return answers


def bound_loader(context: Context, kind: type[_ContextLoader], action: Action) -> _ContextLoader:
    """This request's loader of that kind, knowing the request's context."""
    loader = context.loader(kind, action)
    loader.context = context
    return loader
