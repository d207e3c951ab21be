"""Changing who may do what: grants and tokens, each change checked, audited and announced.

Every function takes the caller's Scope for the action (the subtrees they administer) and
the Actor the audit names; callers commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from authz import repository
from authz.authentication import utc_now
from authz.models import Grant, PolicyAudit, PolicyAuditAction, Subject, SubjectKind, Token
from authz.principal import Actor
from authz.roles import Role
from authz.tokens import new_token, shown_prefix, token_hash
from core.db.session import RequestSession
from core.errors import BadUserInput, Conflict, Forbidden, NotFound
from tenancy.models import Jurisdiction
from tenancy.scope import Scope

NAME_MAX_LENGTH = 100
REASON_MAX_LENGTH = 1000
MAX_TOKEN_DAYS = 366


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as created: the secret is here once and never stored."""

    secret: str
    token: Token
    subject: Subject


def _check_text(value: str, *, what: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise BadUserInput(f"{what}: at most {limit} characters")
    return value


def _reason(actor: Actor, reason: str) -> str:
    """The reason for the audit: required of API callers; the CLI may leave it out."""
    reason = _check_text(reason, what="reason", limit=REASON_MAX_LENGTH)
    if not reason and actor.principal is not None:
        raise BadUserInput("reason: say why, for the policy audit")
    return reason


async def _unit(
    session: RequestSession, code: str, scope: Scope, *, retired: bool = False
) -> Jurisdiction:
    """The unit by code, inside the caller's scope; current unless `retired` is allowed."""
    unit = await repository.unit_by_code(session, code.strip())
    if unit is None:
        raise NotFound(f"jurisdiction: no jurisdiction has code {code!r}")
    if not scope.contains(unit.path):
        raise Forbidden(f"jurisdiction {unit.code} is outside what you administer")
    if unit.valid_to is not None and not retired:
        raise BadUserInput(f"jurisdiction {unit.code} was retired on {unit.valid_to}")
    return unit


def _check_privilege(actor: Actor, role: Role, unit: Jurisdiction, *, verb: str) -> None:
    """Nobody hands out (or takes away) permissions they do not hold themselves there."""
    principal = actor.principal
    if principal is None:
        return
    needed = principal.policy.permissions(role, unit.code)
    missing = needed - principal.permissions_at(unit.path, unit.code)
    if missing:
        names = ", ".join(sorted(f"{a.obj}:{a.act}" for a in missing))
        raise Forbidden(f"you cannot {verb} {role.value} at {unit.code}: you do not hold {names}")


async def _audit(
    session: RequestSession,
    actor: Actor,
    action: PolicyAuditAction,
    *,
    subject: Subject,
    unit: Jurisdiction | None,
    reason: str,
    role: Role | None = None,
    token: Token | None = None,
) -> None:
    await session.add(
        PolicyAudit(
            at=utc_now(),
            actor_subject_id=actor.subject_id,
            actor=actor.label,
            action=action,
            subject_id=subject.id,
            role=role,
            jurisdiction_id=unit.id if unit else None,
            token_id=token.id if token else None,
            reason=reason,
        )
    )


async def ensure_subject(session: RequestSession, name: str, kind: SubjectKind) -> Subject:
    """The subject with this name, created if it does not exist yet."""
    name = _check_text(name, what="subject", limit=NAME_MAX_LENGTH)
    if not name:
        raise BadUserInput("subject: a name is needed")
    subject = await repository.subject_by_name(session, name)
    if subject is None:
        subject = Subject(name=name, kind=kind, created_at=utc_now())
        await session.add(subject)
    return subject


async def grant_role(
    session: RequestSession,
    *,
    actor: Actor,
    scope: Scope,
    subject_name: str,
    role: Role,
    code: str,
    reason: str,
    kind: SubjectKind = SubjectKind.PERSON,
) -> tuple[Grant, Subject, Jurisdiction]:
    """Give a subject (created if new) a role at a unit inside the caller's scope."""
    reason = _reason(actor, reason)
    unit = await _unit(session, code, scope)
    _check_privilege(actor, role, unit, verb="grant")
    subject = await ensure_subject(session, subject_name, kind)
    if await repository.find_grant(session, subject.id, role, unit.id) is not None:
        raise Conflict(f"{subject.name} already holds {role.value} at {unit.code}")
    grant = Grant(subject_id=subject.id, role=role, jurisdiction_id=unit.id, granted_at=utc_now())
    await session.add(grant)
    await _audit(
        session,
        actor,
        PolicyAuditAction.GRANT,
        subject=subject,
        unit=unit,
        role=role,
        reason=reason,
    )
    await repository.bump_policy_version(session)
    return grant, subject, unit


async def revoke_role(
    session: RequestSession,
    *,
    actor: Actor,
    scope: Scope,
    subject_name: str,
    role: Role,
    code: str,
    reason: str,
) -> tuple[Grant, Subject, Jurisdiction]:
    """Take a role back; refused if it would leave a unit and all above it without an admin.

    A grant at a retired unit can be taken back too: nobody should keep a role there.
    """
    reason = _reason(actor, reason)
    unit = await _unit(session, code, scope, retired=True)
    subject = await repository.subject_by_name(session, subject_name.strip())
    grant = await repository.find_grant(session, subject.id, role, unit.id) if subject else None
    if subject is None or grant is None:
        raise NotFound(f"{subject_name} holds no {role.value} at {unit.code}")
    _check_privilege(actor, role, unit, verb="revoke")
    if role is Role.ADMIN and not await repository.admins_at_or_above(
        session, unit.path, excluding=grant.id
    ):
        raise Conflict(
            f"{subject.name} is the last administrator of {unit.code} and of every unit "
            "above it: grant admin to someone else first"
        )
    await repository.remove_grant(session, grant.id)
    await _audit(
        session,
        actor,
        PolicyAuditAction.REVOKE,
        subject=subject,
        unit=unit,
        role=role,
        reason=reason,
    )
    await repository.bump_policy_version(session)
    return grant, subject, unit


async def subject_in_scope(session: RequestSession, scope: Scope, subject: Subject) -> None:
    """Forbidden unless every grant of the subject lies in the scope (and there is one)."""
    grants = await repository.held_grants(session, subject.id)
    if not grants or not all(scope.contains(grant.path) for grant in grants):
        raise Forbidden(f"{subject.name} holds roles outside what you administer")


async def _subject_within(
    session: RequestSession, actor: Actor, scope: Scope, subject: Subject
) -> Jurisdiction | None:
    """The unit of the subject's first grant, once the caller may manage the subject."""
    grants = await repository.held_grants(session, subject.id)
    if actor.principal is not None:
        await subject_in_scope(session, scope, subject)
        for grant in grants:
            unit = await repository.unit_by_code(session, grant.code)
            assert unit is not None
            _check_privilege(actor, grant.role, unit, verb="issue tokens for")
    return await repository.unit_by_code(session, grants[0].code) if grants else None


async def _token_within(
    session: RequestSession, actor: Actor, scope: Scope, token: Token, subject: Subject
) -> Jurisdiction | None:
    """The unit, inside the caller's scope, that the token belongs to: where it was issued,
    or, for a subject all of whose grants lie in the scope, its first grant's unit.

    Taking a token away only narrows access, so the administrators of the unit it was
    issued at may do it whatever its subject holds now (nothing, or roles elsewhere);
    having once granted the subject something is not enough. Any other token answers as
    one that does not exist, naming nobody.
    """
    grants = await repository.held_grants(session, subject.id)
    if actor.principal is None:
        return await repository.unit_by_code(session, grants[0].code) if grants else None
    issued = await repository.token_issued_in(session, scope, token.id)
    if issued is not None:
        return issued
    if grants and all(scope.contains(grant.path) for grant in grants):
        return await repository.unit_by_code(session, grants[0].code)
    raise NotFound(f"token {token.id} does not exist")


async def create_token(
    session: RequestSession,
    *,
    actor: Actor,
    scope: Scope,
    subject_name: str,
    expires_in: dt.timedelta | None,
    label: str = "",
    kind: SubjectKind = SubjectKind.PERSON,
) -> IssuedToken:
    """A new token for a subject whose grants all lie in the caller's scope."""
    label = _check_text(label, what="label", limit=NAME_MAX_LENGTH)
    if expires_in is not None and expires_in <= dt.timedelta(0):
        raise BadUserInput("expires: must lie in the future")
    if actor.principal is not None:
        if expires_in is None or expires_in > dt.timedelta(days=MAX_TOKEN_DAYS):
            raise BadUserInput(
                f"expires: tokens issued through the API last 1 to {MAX_TOKEN_DAYS} days"
            )
        subject = await repository.subject_by_name(session, subject_name.strip())
        if subject is None:
            raise NotFound(f"subject: nobody is called {subject_name!r}")
    else:
        subject = await ensure_subject(session, subject_name, kind)
    unit = await _subject_within(session, actor, scope, subject)
    secret = new_token()
    now = utc_now()
    token = Token(
        subject_id=subject.id,
        token_hash=token_hash(secret),
        prefix=shown_prefix(secret),
        label=label,
        created_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    await session.add(token)
    await _audit(
        session,
        actor,
        PolicyAuditAction.TOKEN_CREATE,
        subject=subject,
        unit=unit,
        token=token,
        reason=label,
    )
    return IssuedToken(secret=secret, token=token, subject=subject)


async def revoke_token(
    session: RequestSession, *, actor: Actor, scope: Scope, token_id: int, reason: str
) -> tuple[Token, Subject]:
    """Revoke a token of a subject whose grants all lie in the caller's scope."""
    reason = _reason(actor, reason)
    found = await repository.token_by_id(session, token_id)
    if found is None:
        raise NotFound(f"token {token_id} does not exist")
    token, subject = found
    unit = await _token_within(session, actor, scope, token, subject)
    if token.revoked_at is not None:
        raise Conflict(f"token {token_id} was already revoked")
    token.revoked_at = utc_now()
    await session.add(token)
    await _audit(
        session,
        actor,
        PolicyAuditAction.TOKEN_REVOKE,
        subject=subject,
        unit=unit,
        token=token,
        reason=reason,
    )
    await repository.bump_policy_version(session)
    return token, subject
