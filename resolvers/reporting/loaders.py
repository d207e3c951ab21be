"""The acts of the monthly cycle a request shows, by id: one statement a batch."""

from __future__ import annotations

from sqlalchemy import select

from core.db.session import RequestSession
from indicators.reporting.models import WorkflowEvent
from resolvers.dataloader import Loader
from tenancy.scope import Scope, unscoped


class EventLoader(Loader[int, WorkflowEvent]):
    # Ids come from reports and approvals already checked against the caller's scope.
    def __init__(self, session: RequestSession, scope: Scope) -> None:
        del scope

        async def load(ids: list[int]) -> list[WorkflowEvent]:
            statement = select(WorkflowEvent).where(WorkflowEvent.id.in_(ids))
            why = "the ids belong to reports and approvals the caller may read"
            found = {e.id: e for e in await session.scalars(unscoped(statement, why=why))}
            return [found[key] for key in ids]

        super().__init__(load_fn=load)
