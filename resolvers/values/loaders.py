"""Stored values of many units at once: one query per (period, elements) asked."""

from __future__ import annotations

from collections import defaultdict

from core.db.session import RequestSession
from indicators.models import DataValue
from indicators.periods import Period
from indicators.stored_values import values_of
from resolvers.dataloader import Loader
from tenancy.scope import Scope

# (unit id, period, element ids or None for all)
ValuesKey = tuple[int, Period, tuple[int, ...] | None]


class ValuesByUnitLoader(Loader[ValuesKey, list[DataValue]]):
    def __init__(self, session: RequestSession, scope: Scope) -> None:
        async def load(keys: list[ValuesKey]) -> list[list[DataValue]]:
            groups: dict[tuple[Period, tuple[int, ...] | None], list[int]] = defaultdict(list)
            for unit_id, period, elements in keys:
                groups[period, elements].append(unit_id)
            found: dict[ValuesKey, list[DataValue]] = {}
            for (period, elements), unit_ids in groups.items():
                by_unit = await values_of(
                    session, scope, unit_ids, period=period, element_ids=elements
                )
                for unit_id in unit_ids:
                    found[unit_id, period, elements] = by_unit.get(unit_id, [])
            return [found[key] for key in keys]

        super().__init__(load_fn=load)
