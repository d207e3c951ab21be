"""`quhua role define|list|retire`: roles as the operator manages them."""

from __future__ import annotations

from typing import Annotated

import typer

from authz import role_definitions
from authz.role_definitions import RoleChange, RoleView
from authz.role_store import role_by_code
from authz.roles import Action
from core.db.session import RequestSession
from quhua.cli.access import ReasonOption, operator, run
from quhua.cli.common import DatabaseOption

app = typer.Typer(no_args_is_help=True, help="Define, list and retire roles.")

ACTION_NAMES = ", ".join(action.name for action in Action)


def _actions(names: list[str]) -> frozenset[Action]:
    try:
        return frozenset(Action[name.strip().upper()] for name in names)
    except KeyError as error:
        raise typer.BadParameter(f"{error.args[0]}: not one of {ACTION_NAMES}") from None


def _line(view: RoleView) -> str:
    where = view.unit.code if view.unit else "*"
    state = "retired" if view.role.retired_at else ("built-in" if view.role.builtin else "")
    actions = " ".join(sorted(action.label for action in view.effective))
    includes = ",".join(view.includes) or "-"
    return (
        f"{view.role.code}\t{view.role.name_zh}\t{view.role.name_en}\tat {where}\t"
        f"includes {includes}\t{actions}\t{state}".rstrip()
    )


@app.command("define")
def define(
    code: Annotated[str, typer.Argument(help="Lowercase letters, digits and _.")],
    name_zh: Annotated[str, typer.Option("--name-zh", help="The role's Chinese name.")],
    name_en: Annotated[str, typer.Option("--name-en", help="The role's English name.")],
    action: Annotated[
        list[str] | None, typer.Option("--action", help=f"Repeat for each: {ACTION_NAMES}.")
    ] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="A role it includes; repeat.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="A province's code: granted only there (default: anywhere)."),
    ] = None,
    reason: ReasonOption = "",
    database_url: DatabaseOption = None,
) -> None:
    """Define a role, or change the one with this code (what is given replaces what it was)."""
    actions = _actions(action or [])
    includes = tuple(include or [])

    async def work(db: RequestSession) -> RoleView:
        if await role_by_code(db, code) is None:
            return await role_definitions.define_role(
                db,
                actor=operator(),
                code=code,
                name_zh=name_zh,
                name_en=name_en,
                actions=actions,
                includes=includes,
                jurisdiction=at,
                reason=reason,
            )
        change = RoleChange(name_zh=name_zh, name_en=name_en, actions=actions, includes=includes)
        return await role_definitions.update_role(
            db, actor=operator(), code=code, change=change, reason=reason
        )

    typer.echo(_line(run(database_url, work)))


@app.command("list")
def list_roles(
    retired: Annotated[bool, typer.Option(help="Retired roles too.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Every role: code, names, where it may be granted, what it includes and permits."""

    async def work(db: RequestSession) -> list[RoleView]:
        return await role_definitions.visible_roles(db, None, retired=retired)

    for view in run(database_url, work, writes=False):
        typer.echo(_line(view))


@app.command("retire")
def retire(
    code: Annotated[str, typer.Argument(help="The role's code.")],
    reason: ReasonOption = "",
    database_url: DatabaseOption = None,
) -> None:
    """Retire a role nobody holds and no role includes."""

    async def work(db: RequestSession) -> RoleView:
        return await role_definitions.retire_role(db, actor=operator(), code=code, reason=reason)

    run(database_url, work)
    typer.echo(f"retired {code}")
