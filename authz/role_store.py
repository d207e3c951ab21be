"""Reading and writing roles: their rows, and the Casbin rules that say what they permit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select

from authz.models import CasbinRule, Grant, RoleRow
from authz.roles import Action
from core.db.session import RequestSession
from tenancy.models import Jurisdiction
from tenancy.scope import unscoped

ANY_UNIT = "*"


async def role_by_code(session: RequestSession, code: str) -> RoleRow | None:
    return await session.scalar(select(RoleRow).where(RoleRow.code == code))


async def role_unit(session: RequestSession, role: RoleRow) -> Jurisdiction | None:
    """The unit a role was defined at (its subtree is where it may be granted)."""
    if role.jurisdiction_id is None:
        return None
    query = unscoped(
        select(Jurisdiction).where(Jurisdiction.id == role.jurisdiction_id),
        why="the tree's codes are public",
    )
    return await session.scalar(query)


async def all_roles(session: RequestSession) -> Sequence[tuple[RoleRow, Jurisdiction | None]]:
    """Every role with its unit, built-in ones first; callers keep what the caller may see."""
    query = unscoped(
        select(RoleRow, Jurisdiction)
        .outerjoin(Jurisdiction, Jurisdiction.id == RoleRow.jurisdiction_id)
        .order_by(RoleRow.builtin.desc(), RoleRow.code),
        why="roles are filtered by the units the caller can see",
    )
    return [(role, unit) for role, unit in await session.rows(query)]


async def included_by(session: RequestSession, code: str) -> list[str]:
    """The roles whose rules include this one directly."""
    query = select(CasbinRule.v0).where(CasbinRule.ptype == "g", CasbinRule.v1 == code)
    return sorted(await session.scalars(query))


async def set_rules(
    session: RequestSession, code: str, actions: Iterable[Action], includes: Iterable[str]
) -> None:
    """Replace the role's rules: one `p` per action, at any unit, and one `g` per include."""
    await remove_rules(session, code)
    for action in sorted(actions, key=lambda a: a.name):
        await session.add(CasbinRule(ptype="p", v0=code, v1=ANY_UNIT, v2=action.obj, v3=action.act))
    for included in includes:
        await session.add(CasbinRule(ptype="g", v0=code, v1=included))


async def remove_rules(session: RequestSession, code: str) -> None:
    await session.execute(delete(CasbinRule).where(CasbinRule.v0 == code))


async def grants_holding(session: RequestSession, code: str) -> int:
    query = unscoped(
        select(func.count()).select_from(Grant).where(Grant.role == code),
        why="a role still granted anywhere cannot be retired",
    )
    return await session.scalar(query) or 0
