"""Tokens: issued for oneself or, by an administrator, for someone in their subtrees; and
revoked. A token never reaches further than its issuer could when it was issued.

An administrator's token for someone else is limited: it reaches only what the issuer's own
token could do inside the subtrees where the issuer administers tokens, whatever its
subject is granted later, and it lasts a week; its subject replaces it with one of their
own. A token one issues for oneself reaches what the token used to issue it reaches (all
the subject holds, for an unlimited one): whoever holds a limited token cannot widen it.
Tokens from the command line are the operator's and unlimited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from authz import repository
from authz.administration import (
    acting,
    audit,
    check_holds,
    ensure_subject,
    reason_for,
    within,
)
from authz.authentication import utc_now
from authz.models import PolicyAuditAction, Subject, SubjectKind, Token
from authz.names import NAME_MAX_LENGTH
from authz.principal import Actor, Reach
from authz.roles import Action
from authz.tokens import new_token, shown_prefix, token_hash
from core.db.session import RequestSession
from core.errors import BadUserInput, Conflict, NotFound, shown
from tenancy.models import Jurisdiction
from tenancy.scope import Scope

MAX_TOKEN_DAYS = 366
# Tokens an administrator issues for someone else: short-lived, the person replaces them.
ISSUED_TOKEN_DAYS = 7
OWN_TOKEN_DAYS = 90


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as created: the secret is here once and never stored."""

    secret: str
    token: Token
    subject: Subject


async def subject_in_scope(
    session: RequestSession, scope: Scope, subject: Subject, asked: str
) -> None:
    """NOT_FOUND, as for a name nobody has (quoting the name as asked), unless every grant
    of the subject lies in the scope (and there is one): a caller learns nothing of people
    outside their subtrees."""
    if not await within(session, scope, subject):
        raise NotFound(f"subject: nobody is called {shown(asked)}")


async def _first_unit(session: RequestSession, subject: Subject) -> Jurisdiction | None:
    grants = await repository.held_grants(session, subject.id)
    return await repository.unit_by_code(session, grants[0].code) if grants else None


async def _subject_within(
    session: RequestSession, actor: Actor, scope: Scope, subject: Subject, asked: str
) -> None:
    """Once the caller may manage the subject: they hold every permission it holds."""
    principal = actor.principal
    assert principal is not None
    await subject_in_scope(session, scope, subject, asked)
    for grant in await repository.held_grants(session, subject.id):
        unit = await repository.unit_by_code(session, grant.code)
        assert unit is not None
        needed = principal.policy.permissions(grant.role, grant.code)
        check_holds(actor, needed, unit, what=f"issue tokens for {grant.role}")


def _lifetime(expires_in: dt.timedelta | None, *, limit_days: int, whose: str) -> dt.timedelta:
    if expires_in is None:
        return dt.timedelta(days=min(limit_days, OWN_TOKEN_DAYS))
    if expires_in <= dt.timedelta(0) or expires_in > dt.timedelta(days=limit_days):
        raise BadUserInput(f"expires: tokens {whose} last 1 to {limit_days} days")
    return expires_in


async def create_token(
    session: RequestSession,
    *,
    actor: Actor,
    name: str,
    expires_in: dt.timedelta | None,
    label: str = "",
    kind: SubjectKind = SubjectKind.PERSON,
) -> IssuedToken:
    """A new token: for oneself, or for a subject whose grants all lie in the caller's
    scope (limited to the caller's reach there); from the CLI, for anyone."""
    reach: tuple[Reach, ...] | None
    label = label.strip()
    if len(label) > NAME_MAX_LENGTH:
        raise BadUserInput(f"label: at most {NAME_MAX_LENGTH} characters")
    if actor.principal is None:
        if expires_in is not None and expires_in <= dt.timedelta(0):
            raise BadUserInput("expires: must lie in the future")
        actor, _ = await acting(session, actor, Action.MANAGE_TOKENS)
        subject = await ensure_subject(session, name, kind)
        lifetime, reach, issuer_id = expires_in, None, None
    else:
        actor, scope = await acting(session, actor, Action.MANAGE_TOKENS)
        principal = actor.principal
        assert principal is not None
        found = await repository.subject_by_name(session, name)
        if found is None:
            raise NotFound(f"subject: nobody is called {shown(name)}")
        subject, issuer_id = found, principal.subject_id
        if subject.id == principal.subject_id:
            lifetime = _lifetime(expires_in, limit_days=MAX_TOKEN_DAYS, whose="for yourself")
            reach = principal.reach
        else:
            await _subject_within(session, actor, scope, subject, name)
            lifetime = _lifetime(
                expires_in, limit_days=ISSUED_TOKEN_DAYS, whose="issued for someone else"
            )
            reach = principal.reach_within(scope.roots)
    secret = new_token()
    now = utc_now()
    token = Token(
        subject_id=subject.id,
        token_hash=token_hash(secret),
        prefix=shown_prefix(secret),
        label=label,
        created_at=now,
        expires_at=now + lifetime if lifetime else None,
        issued_by_subject_id=issuer_id,
        issued_by=actor.label,
        limited=reach is not None,
    )
    await session.add(token)
    if reach is not None:
        await repository.store_reach(session, token.id, reach)
    await audit(
        session,
        actor,
        PolicyAuditAction.TOKEN_CREATE,
        subject=subject,
        unit=await _first_unit(session, subject),
        token=token,
        reason=label,
    )
    return IssuedToken(secret=secret, token=token, subject=subject)


async def _token_within(
    session: RequestSession, actor: Actor, scope: Scope, token: Token, subject: Subject
) -> Jurisdiction | None:
    """The unit, inside the caller's scope, that the token belongs to: where it was issued,
    or, for a subject all of whose grants lie in the scope, its first grant's unit.

    Taking a token away only narrows access, so the administrators of the unit it was
    issued at may do it whatever its subject holds now (nothing, or roles elsewhere);
    having once granted the subject something is not enough. One's own tokens may always
    be revoked. Any other token answers as one that does not exist, naming nobody.
    """
    grants = await repository.held_grants(session, subject.id)
    principal = actor.principal
    if principal is None or principal.subject_id == subject.id:
        return await repository.unit_by_code(session, grants[0].code) if grants else None
    issued = await repository.token_issued_in(session, scope, token.id)
    if issued is not None:
        return issued
    if grants and all(scope.contains(grant.path) for grant in grants):
        return await repository.unit_by_code(session, grants[0].code)
    raise NotFound(f"token {token.id} does not exist")


async def revoke_token(
    session: RequestSession, *, actor: Actor, token_id: int, reason: str
) -> tuple[Token, Subject]:
    """Revoke one's own token, or one of a subject whose grants all lie in the scope."""
    reason = reason_for(actor, reason)
    actor, scope = await acting(session, actor, Action.MANAGE_TOKENS)
    found = await repository.token_by_id(session, token_id)
    if found is None:
        raise NotFound(f"token {token_id} does not exist")
    token, subject = found
    unit = await _token_within(session, actor, scope, token, subject)
    if token.revoked_at is not None:
        raise Conflict(f"token {token_id} was already revoked")
    token.revoked_at = utc_now()
    await session.add(token)
    await audit(
        session,
        actor,
        PolicyAuditAction.TOKEN_REVOKE,
        subject=subject,
        unit=unit,
        token=token,
        reason=reason,
    )
    return token, subject
