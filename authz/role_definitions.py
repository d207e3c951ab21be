"""Roles as data: administrators at the top of a tree (or the operator) define, change and
retire roles; each is Casbin rules plus a row naming it.

What holds:
- built-in roles are never changed or retired, so no province can weaken them;
- a role defined at a unit is granted only in that unit's subtree; one defined from the
  command line without a unit, anywhere;
- nobody defines or changes a role to permit (with what it includes) an action they do
  not hold themselves at the role's unit;
- a role still granted, or included by a live role, is not retired;
- every change bumps the policy version (every server drops what it cached within a poll)
  and is in the policy audit with the role before and after.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from authz import repository, role_store
from authz.administration import acting, audit, check_holds, reason_for
from authz.authentication import utc_now
from authz.enforcer import RolePolicy
from authz.models import PolicyAuditAction, RoleRow
from authz.principal import Actor
from authz.roles import Action
from core.db.session import RequestSession
from core.errors import BadUserInput, Conflict, Forbidden, NotFound, shown
from tenancy.models import Jurisdiction
from tenancy.scope import Scope

CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
NAME_MAX_LENGTH = 100


@dataclass(frozen=True, slots=True)
class RoleView:
    """A role as callers read it: its row, where it was defined, and its rules."""

    role: RoleRow
    unit: Jurisdiction | None
    actions: frozenset[Action]
    includes: tuple[str, ...]
    # What holders may do: its own actions and those of every role it includes.
    effective: frozenset[Action]


@dataclass(frozen=True, slots=True)
class RoleChange:
    """What a definition or update asks for; None leaves a field of an update as it is."""

    name_zh: str | None = None
    name_en: str | None = None
    actions: frozenset[Action] | None = None
    includes: tuple[str, ...] | None = None


def _name(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise BadUserInput(f"{what}: a name is needed")
    if len(value) > NAME_MAX_LENGTH:
        raise BadUserInput(f"{what}: at most {NAME_MAX_LENGTH} characters")
    return value


async def view_of(
    session: RequestSession, role: RoleRow, unit: Jurisdiction | None, policy: RolePolicy
) -> RoleView:
    actions, includes = await role_store.rules_of(session, role.code)
    home = unit.code if unit else ""
    return RoleView(role, unit, actions, includes, policy.permissions(role.code, home))


def _snapshot(view: RoleView) -> str:
    return json.dumps(
        {
            "code": view.role.code,
            "nameZh": view.role.name_zh,
            "nameEn": view.role.name_en,
            "actions": sorted(action.label for action in view.actions),
            "includes": list(view.includes),
            "retired": view.role.retired_at is not None,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


async def _current_policy(session: RequestSession) -> RolePolicy:
    return RolePolicy(await repository.role_rules(session))


async def _home(
    session: RequestSession, actor: Actor, scope: Scope, code: str | None
) -> Jurisdiction | None:
    """Where a new role is defined: a root of the tree the caller administers roles at."""
    if code is None:
        if actor.principal is not None:
            raise BadUserInput("jurisdiction: say at which province the role is defined")
        return None
    unit = await repository.unit_by_code(session, code)
    if unit is None:
        raise NotFound(f"jurisdiction: no jurisdiction has code {shown(code)}")
    if not scope.contains(unit.path):
        raise Forbidden(f"jurisdiction {unit.code} is outside where you administer roles")
    if unit.parent_id is not None:
        raise BadUserInput(
            f"jurisdiction {unit.code}: roles are defined at the top of a tree (a province)"
        )
    if unit.valid_to is not None:
        raise BadUserInput(f"jurisdiction {unit.code} was retired on {unit.valid_to}")
    return unit


async def _check_includes(
    session: RequestSession, code: str, home: Jurisdiction | None, includes: tuple[str, ...]
) -> None:
    """Each included role is live and may be granted wherever this one may; no cycles."""
    for included in includes:
        role = await role_store.role_by_code(session, included)
        if role is None or role.retired_at is not None:
            raise NotFound(f"includes: no role {shown(included)}")
        if role.jurisdiction_id is not None and (home is None or role.jurisdiction_id != home.id):
            raise NotFound(f"includes: no role {shown(included)}")
    seen: set[str] = set()
    pending = list(includes)
    while pending:
        current = pending.pop()
        if current == code:
            raise BadUserInput(f"includes: {code} would include itself")
        if current not in seen:
            seen.add(current)
            pending.extend((await role_store.rules_of(session, current))[1])


async def _apply(  # noqa: PLR0917 - the parts of a change
    session: RequestSession,
    actor: Actor,
    role: RoleRow,
    home: Jurisdiction | None,
    actions: frozenset[Action],
    includes: tuple[str, ...],
) -> RoleView:
    """Write the role's rules, then refuse what the actor could not have handed out."""
    await _check_includes(session, role.code, home, includes)
    await role_store.set_rules(session, role.code, actions, includes)
    view = await view_of(session, role, home, await _current_policy(session))
    if home is not None:
        check_holds(actor, view.effective, home, what=f"let {role.code} do that")
    elif actor.principal is not None:
        raise Forbidden(f"role {role.code} is the operator's: change it from the command line")
    return view


async def define_role(
    session: RequestSession,
    *,
    actor: Actor,
    code: str,
    name_zh: str,
    name_en: str,
    actions: frozenset[Action],
    includes: tuple[str, ...],
    jurisdiction: str | None,
    reason: str,
) -> RoleView:
    reason = reason_for(actor, reason)
    if not CODE.match(code):
        raise BadUserInput(
            f"code: {shown(code)} is not a role code (a lowercase letter, then 1 to 39 "
            "lowercase letters, digits or _)"
        )
    actor, scope = await acting(session, actor, Action.MANAGE_ROLES)
    home = await _home(session, actor, scope, jurisdiction)
    existing = await role_store.role_by_code(session, code)
    if existing is not None:
        retired = " (retired)" if existing.retired_at is not None else ""
        raise Conflict(f"code: a role {code}{retired} exists already")
    role = RoleRow(
        code=code,
        name_zh=_name(name_zh, "nameZh"),
        name_en=_name(name_en, "nameEn"),
        builtin=False,
        jurisdiction_id=home.id if home else None,
        created_at=utc_now(),
    )
    await session.add(role)
    view = await _apply(session, actor, role, home, actions, includes)
    await audit(
        session,
        actor,
        PolicyAuditAction.ROLE_DEFINE,
        subject=None,
        unit=home,
        role=code,
        reason=reason,
        after=_snapshot(view),
    )
    return view


async def _changeable(
    session: RequestSession, actor: Actor, scope: Scope, code: str
) -> tuple[RoleRow, Jurisdiction | None]:
    """A role the actor may change: not built in, not retired, defined where they may."""
    role = await role_store.role_by_code(session, code)
    home = await role_store.role_unit(session, role) if role else None
    visible = role is not None and (
        actor.principal is None
        or role.builtin
        or (home is not None and scope.can_see(home.path))
        or home is None
    )
    if role is None or not visible:
        raise NotFound(f"role: no role {shown(code)}")
    if role.builtin:
        raise Forbidden(f"role {code} is built in: it cannot be changed or retired")
    if role.retired_at is not None:
        raise Conflict(f"role {code} was retired")
    if actor.principal is not None and (home is None or not scope.contains(home.path)):
        raise Forbidden(f"role {code} is not defined where you administer roles")
    return role, home


async def update_role(
    session: RequestSession, *, actor: Actor, code: str, change: RoleChange, reason: str
) -> RoleView:
    reason = reason_for(actor, reason)
    actor, scope = await acting(session, actor, Action.MANAGE_ROLES)
    role, home = await _changeable(session, actor, scope, code)
    before = await view_of(session, role, home, await _current_policy(session))
    if change.name_zh is not None:
        role.name_zh = _name(change.name_zh, "nameZh")
    if change.name_en is not None:
        role.name_en = _name(change.name_en, "nameEn")
    await session.add(role)
    actions = before.actions if change.actions is None else change.actions
    includes = before.includes if change.includes is None else change.includes
    view = await _apply(session, actor, role, home, actions, includes)
    await audit(
        session,
        actor,
        PolicyAuditAction.ROLE_UPDATE,
        subject=None,
        unit=home,
        role=code,
        reason=reason,
        before=_snapshot(before),
        after=_snapshot(view),
    )
    return view


async def retire_role(session: RequestSession, *, actor: Actor, code: str, reason: str) -> RoleView:
    reason = reason_for(actor, reason)
    actor, scope = await acting(session, actor, Action.MANAGE_ROLES)
    role, home = await _changeable(session, actor, scope, code)
    held = await role_store.grants_holding(session, code)
    if held:
        raise Conflict(
            f"role {code} is held by {held} grant(s): revoke them or grant another role first"
        )
    includers = await role_store.included_by(session, code)
    if includers:
        raise Conflict(f"role {code} is included by {', '.join(includers)}: change those first")
    before = await view_of(session, role, home, await _current_policy(session))
    role.retired_at = utc_now()
    await session.add(role)
    await role_store.remove_rules(session, code)
    view = RoleView(role, home, frozenset(), (), frozenset())
    await audit(
        session,
        actor,
        PolicyAuditAction.ROLE_RETIRE,
        subject=None,
        unit=home,
        role=code,
        reason=reason,
        before=_snapshot(before),
        after=_snapshot(view),
    )
    return view


async def visible_roles(
    session: RequestSession, scope: Scope | None, *, retired: bool
) -> list[RoleView]:
    """Roles the caller can see (every one for the operator, scope None): built-in and
    operator-defined roles, and those defined at a unit above or inside their subtrees."""
    policy = await _current_policy(session)
    views = []
    for role, unit in await role_store.all_roles(session):
        if role.retired_at is not None and not retired:
            continue
        if scope is not None and unit is not None and not scope.can_see(unit.path):
            continue
        views.append(await view_of(session, role, unit, policy))
    return views
