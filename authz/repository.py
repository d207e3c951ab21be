"""Reading and writing who may do what. Statements here are the door's own or take a Scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Select, and_, delete, false, func, or_, select, true, update

from authz.models import (
    CasbinRule,
    Grant,
    PolicyAudit,
    PolicyAuditAction,
    PolicyState,
    Subject,
    Token,
    TokenReach,
)
from authz.names import name_key
from authz.principal import HeldGrant, Reach
from authz.roles import Action, Role
from core.db.session import RequestSession
from tenancy.models import Jurisdiction
from tenancy.paths import path_codes, within
from tenancy.scope import SCOPED, Scope, unscoped

POLICY_ROW = 1


async def policy_version(session: RequestSession) -> int:
    version = await session.scalar(select(PolicyState.version).where(PolicyState.id == POLICY_ROW))
    return version or 0


async def bump_policy_version(session: RequestSession) -> None:
    """Tell every server process that grants, tokens or the role policy changed."""
    await session.execute(
        update(PolicyState)
        .where(PolicyState.id == POLICY_ROW)
        .values(version=PolicyState.version + 1)
    )


async def lock_policy(session: RequestSession) -> None:
    """Bump the policy version first thing, so that changes to who may do what run one at
    a time: on PostgreSQL the row stays locked until commit, and every later statement of
    the transaction reads what the previous change committed (READ COMMITTED)."""
    await bump_policy_version(session)


async def role_rules(session: RequestSession) -> list[tuple[str, str, str, str | None, str | None]]:
    query = select(CasbinRule.ptype, CasbinRule.v0, CasbinRule.v1, CasbinRule.v2, CasbinRule.v3)
    return [tuple(row) for row in await session.rows(query.order_by(CasbinRule.id))]  # type: ignore[misc]


async def token_owner(
    session: RequestSession, token_hash: str, now: dt.datetime
) -> tuple[Token, Subject] | None:
    """A live token (not revoked, not expired) and its subject, by the token's hash."""
    query = unscoped(
        select(Token, Subject)
        .join(Subject, Subject.id == Token.subject_id)
        .where(
            Token.token_hash == token_hash,
            Token.revoked_at.is_(None),
            (Token.expires_at.is_(None)) | (Token.expires_at > now),
        ),
        why="authentication finds the caller before there is a scope",
    )
    row = await session.rows(query)
    return (row[0][0], row[0][1]) if row else None


async def held_grants(session: RequestSession, subject_id: int) -> tuple[HeldGrant, ...]:
    """A subject's grants, by an indexed lookup on the subject."""
    query = unscoped(
        select(Grant.role, Jurisdiction.id, Jurisdiction.code, Jurisdiction.path, Grant.granted_at)
        .join(Jurisdiction, Jurisdiction.id == Grant.jurisdiction_id)
        .where(Grant.subject_id == subject_id)
        .order_by(Jurisdiction.path, Grant.role),
        why="a caller's own grants make their scope",
    )
    return tuple(HeldGrant(*row) for row in await session.rows(query))


async def token_reach(session: RequestSession, token_id: int) -> tuple[Reach, ...]:
    """The subtrees a limited token may reach, with the actions it may do there."""
    query = unscoped(
        select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.path, TokenReach.actions)
        .join(Jurisdiction, Jurisdiction.id == TokenReach.jurisdiction_id)
        .where(TokenReach.token_id == token_id)
        .order_by(Jurisdiction.path),
        why="a caller's token limits their scope",
    )
    return tuple(
        Reach(unit_id, code, path, frozenset(Action[name] for name in actions.split()))
        for unit_id, code, path, actions in await session.rows(query)
    )


async def store_reach(session: RequestSession, token_id: int, reach: tuple[Reach, ...]) -> None:
    for piece in reach:
        names = " ".join(sorted(action.name for action in piece.actions))
        await session.add(
            TokenReach(token_id=token_id, jurisdiction_id=piece.jurisdiction_id, actions=names)
        )


async def record_token_use(session: RequestSession, uses: dict[int, dt.datetime]) -> None:
    for token_id, at in uses.items():
        await session.execute(
            update(Token)
            .where(Token.id == token_id, (Token.last_used_at.is_(None)) | (Token.last_used_at < at))
            .values(last_used_at=at)
        )


async def token_by_id(session: RequestSession, token_id: int) -> tuple[Token, Subject] | None:
    query = select(Token, Subject).join(Subject, Subject.id == Token.subject_id)
    rows = await session.rows(query.where(Token.id == token_id))
    return (rows[0][0], rows[0][1]) if rows else None


async def tokens_of(session: RequestSession, subject_id: int) -> Sequence[Token]:
    query = select(Token).where(Token.subject_id == subject_id).order_by(Token.id)
    return await session.scalars(query)


async def subject_by_name(session: RequestSession, name: str) -> Subject | None:
    """The subject whose name has the same key (NFKC, case-folded) as this one."""
    return await session.scalar(select(Subject).where(Subject.name_key == name_key(name)))


async def unit_by_code(session: RequestSession, code: str) -> Jurisdiction | None:
    """A jurisdiction by code: codes and names are public, what lies under them is not."""
    query = unscoped(
        select(Jurisdiction).where(Jurisdiction.code == code), why="the tree's codes are public"
    )
    return await session.scalar(query)


async def token_issued_in(
    session: RequestSession, scope: Scope, token_id: int
) -> Jurisdiction | None:
    """The unit, inside the scope, that the policy audit says the token was issued at."""
    issued = select(PolicyAudit.jurisdiction_id).where(
        PolicyAudit.token_id == token_id,
        PolicyAudit.action == PolicyAuditAction.TOKEN_CREATE,
    )
    query = scope.within_scope(
        select(Jurisdiction).where(Jurisdiction.id.in_(issued)).limit(1), Jurisdiction.path
    )
    return await session.scalar(query)


async def find_grant(
    session: RequestSession, subject_id: int, role: str, jurisdiction_id: int
) -> Grant | None:
    query = unscoped(
        select(Grant).where(
            Grant.subject_id == subject_id,
            Grant.role == role,
            Grant.jurisdiction_id == jurisdiction_id,
        ),
        why="checked against the caller's scope by the administration service",
    )
    return await session.scalar(query)


async def admins_at_or_above(session: RequestSession, path: str, *, excluding: int) -> int:
    """How many admin grants, other than one, exist at the unit with this path or above it.

    Callers hold the policy lock (lock_policy), so two revocations cannot both count the
    other's grant as the one that remains.
    """
    codes = path_codes(path)
    query = unscoped(
        select(func.count())
        .select_from(Grant)
        .join(Jurisdiction, Jurisdiction.id == Grant.jurisdiction_id)
        .where(Grant.role == Role.ADMIN, Jurisdiction.code.in_(codes), Grant.id != excluding),
        why="the last-administrator rule looks upward, where the caller may not read",
    )
    return await session.scalar(query) or 0


async def remove_grant(session: RequestSession, grant_id: int) -> None:
    statement = unscoped(
        delete(Grant).where(Grant.id == grant_id),
        why="the administration service checked the grant's unit against the caller's scope",
    )
    await session.execute(statement)


def grants_query(
    scope: Scope, *, under_path: str | None, subject_id: int | None
) -> Select[Grant, Subject, Jurisdiction]:
    """Grants at units in the scope (and under a unit, for a subject, when given)."""
    query = (
        select(Grant, Subject, Jurisdiction)
        .join(Subject, Subject.id == Grant.subject_id)
        .join(Jurisdiction, Jurisdiction.id == Grant.jurisdiction_id)
    )
    if under_path is not None:
        query = query.where(within(Jurisdiction.path, under_path))
    if subject_id is not None:
        query = query.where(Grant.subject_id == subject_id)
    return scope.within_scope(query, Jurisdiction.path)


async def grants_page(
    session: RequestSession,
    scope: Scope,
    *,
    under_path: str | None,
    subject_id: int | None,
    after_id: int | None,
    limit: int,
) -> Sequence[tuple[Grant, Subject, Jurisdiction]]:
    query = grants_query(scope, under_path=under_path, subject_id=subject_id)
    if after_id is not None:
        query = query.where(Grant.id > after_id)
    rows = await session.rows(query.order_by(Grant.id).limit(limit))
    return [(grant, subject, unit) for grant, subject, unit in rows]


async def grants_count(
    session: RequestSession, scope: Scope, *, under_path: str | None, subject_id: int | None
) -> int:
    query = grants_query(scope, under_path=under_path, subject_id=subject_id)
    return await session.scalar(query.with_only_columns(func.count())) or 0


ROLE_CHANGES = (
    PolicyAuditAction.ROLE_DEFINE,
    PolicyAuditAction.ROLE_UPDATE,
    PolicyAuditAction.ROLE_RETIRE,
)


def _audit_query(
    scope: Scope, under_path: str | None
) -> Select[PolicyAudit, Subject | None, Jurisdiction | None]:
    """Changes at units in the scope; and, for every administrator, changes to the roles
    the operator defined for every tree (they bear on every subtree)."""
    query = (
        select(PolicyAudit, Subject, Jurisdiction)
        .outerjoin(Subject, Subject.id == PolicyAudit.subject_id)
        .outerjoin(Jurisdiction, Jurisdiction.id == PolicyAudit.jurisdiction_id)
    )
    if under_path is not None:
        return scope.within_scope(
            query.where(within(Jurisdiction.path, under_path)), Jurisdiction.path
        )
    everywhere = and_(
        PolicyAudit.jurisdiction_id.is_(None),
        PolicyAudit.action.in_(ROLE_CHANGES),
        true() if not scope.is_empty else false(),
    )
    return query.where(or_(scope.covers(Jurisdiction.path), everywhere)).execution_options(
        **{SCOPED: scope.action}
    )


async def audit_count(session: RequestSession, scope: Scope, *, under_path: str | None) -> int:
    query = _audit_query(scope, under_path).with_only_columns(func.count())
    return await session.scalar(query) or 0


async def audit_page(
    session: RequestSession,
    scope: Scope,
    *,
    under_path: str | None,
    before_id: int | None,
    limit: int,
) -> Sequence[tuple[PolicyAudit, Subject | None, Jurisdiction | None]]:
    """Policy changes at units in the scope, newest first."""
    query = _audit_query(scope, under_path)
    if before_id is not None:
        query = query.where(PolicyAudit.id < before_id)
    query = query.order_by(PolicyAudit.id.desc()).limit(limit)
    return [(entry, subject, unit) for entry, subject, unit in await session.rows(query)]
