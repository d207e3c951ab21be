"""The operator's context at the command line: the same resolvers as a request, over the
whole tree (as every other command reads it), with no token."""

from __future__ import annotations

from dataclasses import dataclass, field

from authz.roles import Action
from authz.scope import operator_scope
from core.db.session import RequestSession
from resolvers.context import Context
from tenancy.scope import Scope

# What an export reads: the tree, figures, indicators and values.
EXPORT_ACTIONS = (
    Action.READ_TREE,
    Action.READ_AGGREGATES,
    Action.READ_INDICATORS,
    Action.READ_VALUES,
)


@dataclass(slots=True)
class OperatorContext(Context):
    """A Context whose scope for each export action is the whole tree."""

    everywhere: dict[Action, Scope] = field(default_factory=dict, repr=False)

    def scope(self, action: Action) -> Scope:
        found = self.everywhere.get(action)
        if found is None:
            raise RuntimeError(f"the operator's export context has no scope for {action.label}")
        return found


async def operator_context(session: RequestSession) -> OperatorContext:
    """The context an export command runs in."""
    scopes = {action: await operator_scope(session, action) for action in EXPORT_ACTIONS}
    return OperatorContext(session=session, principal=None, everywhere=scopes)
