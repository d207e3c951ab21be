"""The store's figures for many (unit, period) pairs of one request: three statements a batch."""

from __future__ import annotations

from core.db.session import RequestSession
from indicators.rollups.evaluation import Figures, UnitBucket
from indicators.rollups.reading import read_figures
from resolvers.dataloader import Loader
from tenancy.scope import Scope


class FiguresLoader(Loader[UnitBucket, Figures]):
    # Built like every loader, with the caller's scope; the resolvers check each unit
    # against it before loading, and a unit's figures cover only its own subtree.
    def __init__(self, session: RequestSession, scope: Scope) -> None:
        del scope

        async def load(keys: list[UnitBucket]) -> list[Figures]:
            found = await read_figures(session, keys)
            return [found[key] for key in keys]

        super().__init__(load_fn=load)
