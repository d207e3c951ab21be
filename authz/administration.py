"""Changing who may do what: grants and tokens, each change checked, audited and announced.

Every function takes the Actor the audit names. It first takes the policy lock (so that
changes run one at a time) and reads the actor's grants and token afresh under it: a grant
revoked, a role shrunk or a token revoked a moment ago already counts. Callers commit.
"""

from __future__ import annotations

import datetime as dt

from authz import repository, role_store
from authz.authentication import INVALID_TOKEN, fresh_signed_in, principal_of, utc_now
from authz.enforcer import RolePolicy
from authz.models import (
    Grant,
    PolicyAudit,
    PolicyAuditAction,
    RoleRow,
    Subject,
    SubjectKind,
    Token,
)
from authz.names import subject_name
from authz.principal import Actor, Principal
from authz.roles import Action, Role
from authz.scope import operator_scope, scope_for
from core.db.session import RequestSession
from core.errors import BadUserInput, Conflict, Forbidden, NotFound, Unauthenticated, shown
from tenancy.models import Jurisdiction
from tenancy.scope import Scope

REASON_MAX_LENGTH = 1000


def _check_text(value: str, *, what: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise BadUserInput(f"{what}: at most {limit} characters")
    return value


def reason_for(actor: Actor, reason: str) -> str:
    """The reason for the audit: required of API callers; the CLI may leave it out."""
    reason = _check_text(reason, what="reason", limit=REASON_MAX_LENGTH)
    if not reason and actor.principal is not None:
        raise BadUserInput("reason: say why, for the policy audit")
    return reason


async def fresh_principal(session: RequestSession, principal: Principal) -> Principal:
    """The principal as the database says now: its token still live, its grants and the
    role policy as committed (UNAUTHENTICATED if the token went meanwhile)."""
    if principal.token_id is None:
        policy = RolePolicy(await repository.role_rules(session))
        return await fresh_signed_in(session, principal, policy)
    found = await repository.token_by_id(session, principal.token_id)
    now = utc_now()
    if found is None:
        raise Unauthenticated(INVALID_TOKEN)
    token, subject = found
    expires = token.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    if token.revoked_at is not None or (expires is not None and expires <= now):
        raise Unauthenticated(INVALID_TOKEN)
    policy = RolePolicy(await repository.role_rules(session))
    return await principal_of(session, token, subject, policy)


async def acting(session: RequestSession, actor: Actor, action: Action) -> tuple[Actor, Scope]:
    """Take the policy lock, then the actor as it stands now and its scope for the action."""
    await repository.lock_policy(session)
    if actor.principal is None:
        return actor, await operator_scope(session, action)
    principal = await fresh_principal(session, actor.principal)
    return Actor(actor.label, principal, actor.source), scope_for(principal, action)


async def _unit(
    session: RequestSession, code: str, scope: Scope, *, retired: bool = False
) -> Jurisdiction:
    """The unit by code, inside the caller's scope; current unless `retired` is allowed."""
    unit = await repository.unit_by_code(session, code)
    if unit is None:
        raise NotFound(f"jurisdiction: no jurisdiction has code {shown(code)}")
    if not scope.contains(unit.path):
        raise Forbidden(f"jurisdiction {unit.code} is outside what you administer")
    if unit.valid_to is not None and not retired:
        raise BadUserInput(f"jurisdiction {unit.code} was retired on {unit.valid_to}")
    return unit


def check_holds(actor: Actor, needed: frozenset[Action], unit: Jurisdiction, *, what: str) -> None:
    """Nobody hands out (or takes away) permissions they do not hold themselves there."""
    principal = actor.principal
    if principal is None:
        return
    missing = needed - principal.permissions_at(unit.path, unit.code)
    if missing:
        names = ", ".join(sorted(action.label for action in missing))
        raise Forbidden(f"you cannot {what} at {unit.code}: you do not hold {names}")


def _check_privilege(actor: Actor, role: str, unit: Jurisdiction, *, verb: str) -> None:
    principal = actor.principal
    if principal is None:
        return
    needed = principal.policy.permissions(role, unit.code)
    check_holds(actor, needed, unit, what=f"{verb} {role}")


async def audit(
    session: RequestSession,
    actor: Actor,
    action: PolicyAuditAction,
    *,
    subject: Subject | None,
    unit: Jurisdiction | None,
    reason: str,
    role: str | None = None,
    token: Token | None = None,
    before: str | None = None,
    after: str | None = None,
) -> None:
    await session.add(
        PolicyAudit(
            at=utc_now(),
            actor_subject_id=actor.subject_id,
            actor=actor.label,
            source=actor.source,
            actor_token_id=actor.token_id,
            issuer=actor.issuer,
            action=action,
            subject_id=subject.id if subject else None,
            role=role,
            jurisdiction_id=unit.id if unit else None,
            token_id=token.id if token else None,
            reason=reason,
            before=before,
            after=after,
        )
    )


async def ensure_subject(session: RequestSession, name: str, kind: SubjectKind) -> Subject:
    """The subject with this name (or one that normalises to it), created if new."""
    name, key = subject_name(name)
    subject = await repository.subject_by_name(session, name)
    if subject is None:
        subject = Subject(name=name, name_key=key, kind=kind, created_at=utc_now())
        await session.add(subject)
    return subject


async def _grantable(session: RequestSession, code: str, unit: Jurisdiction) -> RoleRow:
    """The live role with this code that may be granted at the unit; unknown otherwise."""
    role = await role_store.role_by_code(session, code)
    if role is not None and role.retired_at is None:
        home = await role_store.role_unit(session, role)
        if home is None or unit.path.startswith(home.path):
            return role
    raise NotFound(f"role: no role {shown(code)} can be granted at {unit.code}")


async def grant_role(
    session: RequestSession,
    *,
    actor: Actor,
    name: str,
    role: str,
    code: str,
    reason: str,
    kind: SubjectKind = SubjectKind.PERSON,
) -> tuple[Grant, Subject, Jurisdiction]:
    """Give a subject (created if new) a role at a unit inside the caller's scope."""
    reason = reason_for(actor, reason)
    actor, scope = await acting(session, actor, Action.MANAGE_GRANTS)
    unit = await _unit(session, code, scope)
    role = (await _grantable(session, role, unit)).code
    _check_privilege(actor, role, unit, verb="grant")
    asked, _ = subject_name(name)
    existing = await repository.subject_by_name(session, asked)
    # Someone who holds roles outside the caller's subtrees is answered as the caller named
    # them, as a newcomer would be: their stored name and kind stay unknown to the caller.
    outsider = (
        existing is not None
        and actor.principal is not None
        and not await within(session, scope, existing)
    )
    subject = await ensure_subject(session, name, kind)
    if await repository.find_grant(session, subject.id, role, unit.id) is not None:
        raise Conflict(f"{asked} already holds {role} at {unit.code}")
    grant = Grant(subject_id=subject.id, role=role, jurisdiction_id=unit.id, granted_at=utc_now())
    await session.add(grant)
    await audit(
        session,
        actor,
        PolicyAuditAction.GRANT,
        subject=subject,
        unit=unit,
        role=role,
        reason=reason,
    )
    if outsider:
        return grant, Subject(name=asked, kind=kind), unit
    return grant, subject, unit


async def within(session: RequestSession, scope: Scope, subject: Subject) -> bool:
    """Whether every grant of the subject lies in the scope (and there is one)."""
    grants = await repository.held_grants(session, subject.id)
    return bool(grants) and all(scope.contains(grant.path) for grant in grants)


async def revoke_role(
    session: RequestSession,
    *,
    actor: Actor,
    name: str,
    role: str,
    code: str,
    reason: str,
) -> tuple[Grant, Subject, Jurisdiction]:
    """Take a role back; refused if it would leave a unit and all above it without an admin.

    A grant at a retired unit can be taken back too: nobody should keep a role there.
    """
    reason = reason_for(actor, reason)
    actor, scope = await acting(session, actor, Action.MANAGE_GRANTS)
    unit = await _unit(session, code, scope, retired=True)
    subject = await repository.subject_by_name(session, name)
    grant = await repository.find_grant(session, subject.id, role, unit.id) if subject else None
    if subject is None or grant is None:
        raise NotFound(f"{shown(name)} holds no {shown(role)} at {unit.code}")
    _check_privilege(actor, role, unit, verb="revoke")
    if role == Role.ADMIN and not await repository.admins_at_or_above(
        session, unit.path, excluding=grant.id
    ):
        raise Conflict(
            f"{subject.name} is the last administrator of {unit.code} and of every unit "
            "above it: grant admin to someone else first"
        )
    await repository.remove_grant(session, grant.id)
    await audit(
        session,
        actor,
        PolicyAuditAction.REVOKE,
        subject=subject,
        unit=unit,
        role=role,
        reason=reason,
    )
    return grant, subject, unit
