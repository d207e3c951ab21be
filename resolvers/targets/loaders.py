"""Per-request loaders of units' targets and assessments: fields of sibling units are
answered by one batch, whatever their number."""

from __future__ import annotations

from collections import defaultdict

from authz.roles import Action
from core.db.session import RequestSession
from core.errors import BadUserInput, QuhuaError
from indicators.catalogue_index import CatalogueIndex
from indicators.periods import Period
from resolvers.context import Context
from resolvers.dataloader import Loader
from resolvers.rollups.queries import require_figures
from resolvers.targets.assessing import Assessor, year_argument
from tenancy.models import Jurisdiction
from tenancy.scope import Scope

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
        return list(await Assessor(context, index, period).targets(units, Action.READ_TARGETS))


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
