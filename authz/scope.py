"""The one door: the subtrees a caller may use for an action, as a Scope for SQL.

Every repository query over scoped data takes a Scope, and only this module makes one.
"""

from __future__ import annotations

from sqlalchemy import select

from authz.principal import Principal
from authz.roles import Action
from core.db.session import RequestSession
from core.errors import Unauthenticated
from tenancy.models import Jurisdiction
from tenancy.scope import Scope, ScopeRoot, _mint, unscoped

UNAUTHENTICATED_MESSAGE = "Authentication required: send `Authorization: Bearer <token>`"


def scope_for(principal: Principal | None, action: Action) -> Scope:
    """The subtrees below the caller's grants whose role permits the action there, within
    what the caller's token may reach."""
    if principal is None:
        raise Unauthenticated(UNAUTHENTICATED_MESSAGE)
    scope = principal.scopes.get(action)
    if scope is None:
        scope = principal.scopes[action] = _mint(action.name, principal.roots_for(action))
    return scope


async def operator_scope(session: RequestSession, action: Action) -> Scope:
    """For the command line: the operator may act on the whole tree."""
    query = unscoped(
        select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.path).where(
            Jurisdiction.parent_id.is_(None)
        ),
        why="the operator's scope is every root of the tree",
    )
    roots = [ScopeRoot(row.id, row.code, row.path) for row in await session.rows(query)]
    return _mint(action.name, roots)
