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
from authz.models import PolicyAuditAction, RoleRow
from authz.names import display_name
from authz.principal import Actor
from authz.roles import ACTION_BY_PAIR, Action
from core.db.session import RequestSession
from core.errors import BadUserInput, Conflict, Forbidden, NotFound, shown
from tenancy.models import Jurisdiction
from tenancy.scope import Scope

CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")
NAME_MAX_LENGTH = 100
MAX_INCLUDES = 20
# Casbin follows inclusions ten deep; deeper chains would silently lose actions.
MAX_INCLUSION_DEPTH = 8


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
    return display_name(value, what=what, limit=NAME_MAX_LENGTH)


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Every role's own actions and inclusions, read once; effective actions followed by
    hand the way Casbin follows them (an inclusion passes on everything it permits)."""

    own: dict[str, frozenset[Action]]
    includes: dict[str, tuple[str, ...]]

    @classmethod
    async def read(cls, session: RequestSession) -> RuleBook:
        own: dict[str, set[Action]] = {}
        includes: dict[str, list[str]] = {}
        for ptype, v0, v1, v2, v3 in await repository.role_rules(session):
            if ptype == "p" and (v2 or "", v3 or "") in ACTION_BY_PAIR:
                own.setdefault(v0, set()).add(ACTION_BY_PAIR[(v2 or "", v3 or "")])
            elif ptype == "g":
                includes.setdefault(v0, []).append(v1)
        return cls(
            own={code: frozenset(actions) for code, actions in own.items()},
            includes={code: tuple(found) for code, found in includes.items()},
        )

    def effective(self, code: str) -> frozenset[Action]:
        held: set[Action] = set()
        seen: set[str] = set()
        pending = [code]
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                held |= self.own.get(current, frozenset())
                pending.extend(self.includes.get(current, ()))
        return frozenset(held)

    def depth(self, code: str) -> int:
        """How many inclusions deep the role's longest chain goes."""
        deepest, pending = 0, [(code, 0)]
        while pending:
            current, level = pending.pop()
            deepest = max(deepest, level)
            if level <= MAX_INCLUSION_DEPTH:
                pending.extend((inner, level + 1) for inner in self.includes.get(current, ()))
        return deepest

    def view(self, role: RoleRow, unit: Jurisdiction | None) -> RoleView:
        return RoleView(
            role,
            unit,
            self.own.get(role.code, frozenset()),
            self.includes.get(role.code, ()),
            self.effective(role.code),
        )


def snapshot(view: RoleView) -> str:
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
    if len(includes) > MAX_INCLUDES:
        raise BadUserInput(f"includes: at most {MAX_INCLUDES} roles")
    for included in includes:
        role = await role_store.role_by_code(session, included)
        if role is None or role.retired_at is not None:
            raise NotFound(f"includes: no role {shown(included)}")
        if role.jurisdiction_id is not None and (home is None or role.jurisdiction_id != home.id):
            raise NotFound(f"includes: no role {shown(included)}")
    book = await RuleBook.read(session)
    if code in includes or any(code in _closure(book, included) for included in includes):
        raise BadUserInput(f"includes: {code} would include itself")


async def _apply(
    session: RequestSession,
    actor: Actor,
    role: RoleRow,
    home: Jurisdiction | None,
    *,
    actions: frozenset[Action],
    includes: tuple[str, ...],
    before: frozenset[Action] = frozenset(),
) -> RoleView:
    """Write the role's rules, then refuse what the actor could not have handed out (or,
    for a role held by others, taken away: `before`)."""
    includes = tuple(dict.fromkeys(includes))
    await _check_includes(session, role.code, home, includes)
    await role_store.set_rules(session, role.code, actions, includes)
    book = await RuleBook.read(session)
    view = book.view(role, home)
    for code in [role.code, *_includers(book, role.code)]:
        if book.depth(code) > MAX_INCLUSION_DEPTH:
            raise BadUserInput(
                f"includes: {code} would include roles more than {MAX_INCLUSION_DEPTH} deep"
            )
    if home is not None:
        check_holds(actor, view.effective | before, home, what=f"change what {role.code} does")
    elif actor.principal is not None:
        raise Forbidden(f"role {role.code} is the operator's: change it from the command line")
    return view


def _includers(book: RuleBook, code: str) -> list[str]:
    """Every role that includes this one, directly or not."""
    return [other for other in book.includes if other != code and code in _closure(book, other)]


def _closure(book: RuleBook, code: str) -> set[str]:
    seen: set[str] = set()
    pending = list(book.includes.get(code, ()))
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(book.includes.get(current, ()))
    return seen


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
    if not CODE.fullmatch(code):
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
    view = await _apply(session, actor, role, home, actions=actions, includes=includes)
    await audit(
        session,
        actor,
        PolicyAuditAction.ROLE_DEFINE,
        subject=None,
        unit=home,
        role=code,
        reason=reason,
        after=snapshot(view),
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
    before = (await RuleBook.read(session)).view(role, home)
    # Taken now: the row is changed below.
    was = snapshot(before)
    if change.name_zh is not None:
        role.name_zh = _name(change.name_zh, "nameZh")
    if change.name_en is not None:
        role.name_en = _name(change.name_en, "nameEn")
    await session.add(role)
    actions = before.actions if change.actions is None else change.actions
    includes = before.includes if change.includes is None else change.includes
    view = await _apply(
        session, actor, role, home, actions=actions, includes=includes, before=before.effective
    )
    await audit(
        session,
        actor,
        PolicyAuditAction.ROLE_UPDATE,
        subject=None,
        unit=home,
        role=code,
        reason=reason,
        before=was,
        after=snapshot(view),
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
    before = (await RuleBook.read(session)).view(role, home)
    if home is not None:
        check_holds(actor, before.effective, home, what=f"retire {code}")
    was = snapshot(before)
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
        before=was,
        after=snapshot(view),
    )
    return view


async def visible_roles(
    session: RequestSession, scope: Scope | None, *, retired: bool
) -> list[RoleView]:
    """Roles the caller can see (every one for the operator, scope None): built-in and
    operator-defined roles, and those defined at a unit above or inside their subtrees."""
    book = await RuleBook.read(session)
    views = []
    for role, unit in await role_store.all_roles(session):
        if role.retired_at is not None and not retired:
            continue
        if scope is not None and unit is not None and not scope.can_see(unit.path):
            continue
        views.append(book.view(role, unit))
    return views
