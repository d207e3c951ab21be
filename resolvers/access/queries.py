"""Who may do what, as administrators and callers read it."""

from __future__ import annotations

from dataclasses import dataclass

from authz import issuing, repository
from authz.models import Grant as GrantRow
from authz.models import PolicyAudit, Subject, Token
from authz.principal import Principal
from authz.roles import Action
from core.errors import NotFound, shown
from resolvers.context import Context
from resolvers.jurisdictions.queries import visible_unit
from resolvers.pagination import Page, decode_id_cursor, id_cursor, make_page, page_size
from tenancy.models import Jurisdiction


@dataclass(frozen=True, slots=True)
class GrantView:
    """A grant with what it names: the subject and the unit."""

    subject: Subject
    grant: GrantRow
    unit: Jurisdiction


@dataclass(frozen=True, slots=True)
class AuditView:
    entry: PolicyAudit
    subject: Subject | None
    # None for a change to a role the operator defined for every tree.
    unit: Jurisdiction | None


def me(context: Context) -> Principal:
    context.scope(Action.READ_TREE)
    assert context.principal is not None
    return context.principal


async def _under_path(context: Context, under: str | None) -> str | None:
    if under is None:
        return None
    unit = await visible_unit(context, under, argument="under")
    if unit is None:
        raise NotFound(f"under: no jurisdiction has code {shown(under)}")
    return unit.path


async def grants(
    context: Context,
    *,
    under: str | None,
    subject: str | None,
    first: int | None,
    after: str | None,
) -> Page[GrantView]:
    """Grants at units the caller administers, oldest first."""
    scope = context.scope(Action.MANAGE_GRANTS)
    limit = page_size(first)
    after_id = decode_id_cursor(after)
    under_path = await _under_path(context, under)
    subject_id = None
    if subject is not None:
        found = await repository.subject_by_name(context.session, subject)
        subject_id = found.id if found else -1
    rows = await repository.grants_page(
        context.session,
        scope,
        under_path=under_path,
        subject_id=subject_id,
        after_id=after_id,
        limit=limit + 1,
    )

    async def total() -> int:
        return await repository.grants_count(
            context.session, scope, under_path=under_path, subject_id=subject_id
        )

    views = [GrantView(subject=s, grant=g, unit=u) for g, s, u in rows]
    return make_page(
        views,
        limit=limit,
        cursor_of=lambda view: id_cursor(view.grant.id),
        after=after_id,
        total=total,
    )


async def policy_audit(
    context: Context, *, under: str | None, first: int | None, after: str | None
) -> Page[AuditView]:
    """Changes to grants and tokens at units the caller administers, newest first."""
    scope = context.scope(Action.MANAGE_GRANTS)
    limit = page_size(first)
    before_id = decode_id_cursor(after)
    under_path = await _under_path(context, under)
    rows = await repository.audit_page(
        context.session, scope, under_path=under_path, before_id=before_id, limit=limit + 1
    )

    async def total() -> int:
        return await repository.audit_count(context.session, scope, under_path=under_path)

    views = [AuditView(entry=e, subject=s, unit=u) for e, s, u in rows]
    return make_page(
        views,
        limit=limit,
        cursor_of=lambda view: id_cursor(view.entry.id),
        after=before_id,
        total=total,
    )


async def tokens(context: Context, subject: str) -> tuple[Subject, list[Token]]:
    """A subject's tokens, for a caller who administers every unit the subject holds a role at."""
    scope = context.scope(Action.MANAGE_TOKENS)
    found = await repository.subject_by_name(context.session, subject)
    if found is None:
        raise NotFound(f"subject: nobody is called {shown(subject)}")
    assert context.principal is not None
    if found.id != context.principal.subject_id:
        await issuing.subject_in_scope(context.session, scope, found, subject)
    return found, list(await repository.tokens_of(context.session, found.id))
