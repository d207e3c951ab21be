"""Roles: listed for anyone signed in, defined and changed by administrators of a tree."""

from __future__ import annotations

from authz import role_definitions
from authz.role_definitions import RoleChange, RoleView
from authz.roles import Action
from resolvers.access.mutations import actor_of
from resolvers.context import Context


async def roles(context: Context, *, retired: bool) -> list[RoleView]:
    scope = context.scope(Action.READ_TREE)
    return await role_definitions.visible_roles(context.session, scope, retired=retired)


async def define_role(
    context: Context,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    actions: list[Action],
    includes: list[str],
    jurisdiction: str,
    reason: str,
) -> RoleView:
    return await role_definitions.define_role(
        context.session,
        actor=actor_of(context),
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        actions=frozenset(actions),
        includes=tuple(includes),
        jurisdiction=jurisdiction,
        reason=reason,
    )


async def update_role(context: Context, *, code: str, change: RoleChange, reason: str) -> RoleView:
    return await role_definitions.update_role(
        context.session, actor=actor_of(context), code=code, change=change, reason=reason
    )


async def retire_role(context: Context, *, code: str, reason: str) -> RoleView:
    return await role_definitions.retire_role(
        context.session, actor=actor_of(context), code=code, reason=reason
    )
