"""Administering who may do what: each call checked against the caller's scope, then audited."""

from __future__ import annotations

import datetime as dt

from authz import administration
from authz.administration import IssuedToken
from authz.models import SubjectKind, Token
from authz.principal import Actor
from authz.roles import Action, Role
from core.errors import BadUserInput
from resolvers.access.queries import GrantView
from resolvers.context import Context


def _actor(context: Context) -> Actor:
    assert context.principal is not None
    return Actor(label=context.principal.name, principal=context.principal)


async def grant_role(
    context: Context, *, subject: str, role: Role, jurisdiction: str, reason: str, kind: SubjectKind
) -> GrantView:
    scope = context.scope(Action.MANAGE_GRANTS)
    grant, found, unit = await administration.grant_role(
        context.session,
        actor=_actor(context),
        scope=scope,
        subject_name=subject,
        role=role,
        code=jurisdiction,
        reason=reason,
        kind=kind,
    )
    return GrantView(subject=found, grant=grant, unit=unit)


async def revoke_role(
    context: Context, *, subject: str, role: Role, jurisdiction: str, reason: str
) -> GrantView:
    scope = context.scope(Action.MANAGE_GRANTS)
    grant, found, unit = await administration.revoke_role(
        context.session,
        actor=_actor(context),
        scope=scope,
        subject_name=subject,
        role=role,
        code=jurisdiction,
        reason=reason,
    )
    return GrantView(subject=found, grant=grant, unit=unit)


async def create_token(
    context: Context, *, subject: str, expires_in_days: int, label: str
) -> IssuedToken:
    scope = context.scope(Action.MANAGE_TOKENS)
    return await administration.create_token(
        context.session,
        actor=_actor(context),
        scope=scope,
        subject_name=subject,
        expires_in=dt.timedelta(days=expires_in_days),
        label=label,
    )


async def revoke_token(context: Context, *, token_id: str, reason: str) -> Token:
    scope = context.scope(Action.MANAGE_TOKENS)
    if not token_id.isascii() or not token_id.isdigit() or len(token_id) > 18:
        raise BadUserInput(f"id: {token_id!r} is not a token id")
    token, _ = await administration.revoke_token(
        context.session, actor=_actor(context), scope=scope, token_id=int(token_id), reason=reason
    )
    return token
