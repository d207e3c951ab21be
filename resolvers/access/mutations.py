"""Administering who may do what: each call checked against the caller's scope, then audited."""

from __future__ import annotations

import datetime as dt

from authz import administration, issuing
from authz.issuing import IssuedToken
from authz.models import SubjectKind, Token
from authz.principal import Actor
from authz.scope import UNAUTHENTICATED_MESSAGE
from core.errors import BadUserInput, Unauthenticated, shown
from resolvers.access.queries import GrantView
from resolvers.context import Context

# Ids are 32-bit integers on PostgreSQL.
MAX_ID = 2**31 - 1


def actor_of(context: Context) -> Actor:
    """The caller, as the audit names them (UNAUTHENTICATED without one)."""
    if context.principal is None:
        raise Unauthenticated(UNAUTHENTICATED_MESSAGE)
    return Actor.of(context.principal)


async def grant_role(
    context: Context, *, subject: str, role: str, jurisdiction: str, reason: str, kind: SubjectKind
) -> GrantView:
    grant, found, unit = await administration.grant_role(
        context.session,
        actor=actor_of(context),
        name=subject,
        role=role,
        code=jurisdiction,
        reason=reason,
        kind=kind,
    )
    return GrantView(subject=found, grant=grant, unit=unit)


async def revoke_role(
    context: Context, *, subject: str, role: str, jurisdiction: str, reason: str
) -> GrantView:
    grant, found, unit = await administration.revoke_role(
        context.session,
        actor=actor_of(context),
        name=subject,
        role=role,
        code=jurisdiction,
        reason=reason,
    )
    return GrantView(subject=found, grant=grant, unit=unit)


async def create_token(
    context: Context, *, subject: str | None, expires_in_days: int | None, label: str
) -> IssuedToken:
    actor = actor_of(context)
    if expires_in_days is not None and not 1 <= expires_in_days <= issuing.MAX_TOKEN_DAYS:
        raise BadUserInput(f"expiresInDays: 1 to {issuing.MAX_TOKEN_DAYS}")
    return await issuing.create_token(
        context.session,
        actor=actor,
        name=actor.label if subject is None else subject,
        expires_in=None if expires_in_days is None else dt.timedelta(days=expires_in_days),
        label=label,
    )


async def revoke_token(context: Context, *, token_id: str, reason: str) -> Token:
    actor = actor_of(context)
    if not token_id.isascii() or not token_id.isdigit() or int(token_id) > MAX_ID:
        raise BadUserInput(f"id: {shown(token_id)} is not a token id")
    token, _ = await issuing.revoke_token(
        context.session, actor=actor, token_id=int(token_id), reason=reason
    )
    return token
