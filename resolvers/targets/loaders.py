"""Per-request loaders of targets and of the thresholds that grade them: a statement a batch."""

from __future__ import annotations

from core.db.session import RequestSession
from indicators.assessment import Thresholds
from indicators.targets.models import Target
from indicators.targets.reading import UnitYear, targets_of
from indicators.targets.thresholds import thresholds_for
from resolvers.dataloader import Loader
from tenancy.scope import Scope


class TargetsByUnitYearLoader(Loader[UnitYear, list[Target]]):
    """(unit id, the year's first month) → the unit's targets for that year, by code."""

    def __init__(self, session: RequestSession, scope: Scope) -> None:
        async def load(keys: list[UnitYear]) -> list[list[Target]]:
            found = await targets_of(session, scope, keys)
            return [found.get(key, []) for key in keys]

        super().__init__(load_fn=load)


class ThresholdsByPathLoader(Loader[str, Thresholds]):
    """A unit's path → the thresholds that grade it (its nearest ancestor's, or the defaults).

    Built like every loader, with the caller's scope; the rows it reads are those of the
    units above the ones asked, which the resolvers checked against the scope before."""

    def __init__(self, session: RequestSession, scope: Scope) -> None:
        del scope

        async def load(keys: list[str]) -> list[Thresholds]:
            found = await thresholds_for(session, keys)
            return [found[key] for key in keys]

        super().__init__(load_fn=load)
