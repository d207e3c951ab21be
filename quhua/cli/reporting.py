"""`quhua reporting`: the rules of each tree (deadlines, approving levels) and the
completeness of its reports, as an operator scripts them."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from authz.roles import Action
from authz.scope import operator_scope
from core.db.session import RequestSession
from indicators.audit import Author
from indicators.catalogue_index import catalogue_index
from indicators.reporting import rules as reporting_rules
from indicators.reporting.rules import LevelRule, rule_book
from indicators.reporting.status import FollowUp, Status, follow_up, reporting_status
from indicators.reporting.units import months_argument, optional_text, unit_argument
from quhua.cli.access import run
from quhua.cli.common import DatabaseOption, fail
from tenancy.levels import Level

app = typer.Typer(no_args_is_help=True, help="Deadlines, approving levels and completeness.")
MAX_LISTED = 10_000


def _author() -> Author:
    return Author(None, f"cli:{getpass.getuser()}")


def _line(rule: LevelRule) -> str:
    approves = "approves" if rule.approves else "does not approve"
    where = rule.set_at or "default"
    return f"{rule.level.value}\tdue by day {rule.deadline_day}\t{approves}\t{where}"


@app.command("rule")
def set_rule(
    at: Annotated[str, typer.Option("--at", help="The unit whose subtree the rule holds in.")],
    level: Annotated[Level, typer.Option(help="The level the rule is for.")],
    deadline_day: Annotated[
        int | None, typer.Option(min=1, max=28, help="Due by this day of the following month.")
    ] = None,
    approves: Annotated[
        bool | None, typer.Option("--approves/--no-approves", help="Whether the level approves.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why: kept with the change.")] = "",
    database_url: DatabaseOption = None,
) -> None:
    """Set how a level works in a unit's subtree (what is left out stays as it holds there)."""
    if deadline_day is None and approves is None:
        fail("say --deadline-day, --approves or --no-approves")

    async def work(db: RequestSession) -> LevelRule:
        unit = await unit_argument(
            db, await operator_scope(db, Action.READ_TREE), at, what="set rules for"
        )
        return await reporting_rules.set_rule(
            db,
            unit=unit,
            level=level,
            deadline_day=deadline_day,
            approves=approves,
            author=_author(),
            reason=optional_text(reason, what="reason"),
        )

    typer.echo(_line(run(database_url, work)))


@app.command("rules")
def show_rules(
    at: Annotated[str, typer.Option("--at", help="A unit's code.")],
    database_url: DatabaseOption = None,
) -> None:
    """The rules that hold at a unit, for its level and each below."""

    async def work(db: RequestSession) -> list[LevelRule]:
        unit = await unit_argument(
            db, await operator_scope(db, Action.READ_TREE), at, what="read rules of"
        )
        book = await rule_book(db, [unit.path])
        return [book.rule(unit.path, lv) for lv in Level if lv.depth >= unit.level.depth]

    for rule in run(database_url, work, writes=False):
        typer.echo(_line(rule))


@app.command("status")
def status(
    under: Annotated[str, typer.Option(help="A unit's code.")],
    period: Annotated[str, typer.Option(help="A month, quarter, year or 2024FP.")],
    level: Annotated[Level, typer.Option(help="The level whose reports are counted.")],
    missing: Annotated[bool, typer.Option(help="List the missing units.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Expected, submitted, on time, late, missing and returned reports."""

    async def work(db: RequestSession) -> tuple[Status, list[str]]:
        unit = await unit_argument(
            db, await operator_scope(db, Action.READ_AGGREGATES), under, what="read"
        )
        index = await catalogue_index(db)
        months = months_argument(index, period)
        found = await reporting_status(db, index, under=unit, level=level, months=months)
        listed: list[str] = []
        if missing:
            rows = await follow_up(
                db,
                index,
                kind=FollowUp.MISSING,
                under=unit,
                level=level,
                months=months,
                after=None,
                limit=MAX_LISTED,
            )
            listed = [
                f"{r.month_index // 12}-{r.month_index % 12 + 1:02d}\t{r.unit.code}\t{r.unit.name}"
                for r in rows
            ]
        return found, listed

    found, listed = run(database_url, work, writes=False)
    for label, counts in [("total", found.total), *((u.code, c) for u, c in found.below)]:
        typer.echo(
            f"{label}\texpected {counts.expected}\tsubmitted {counts.submitted}\t"
            f"on time {counts.on_time}\tlate {counts.late}\tmissing {counts.missing}\t"
            f"returned {counts.returned}"
        )
    for line in listed:
        typer.echo(f"missing\t{line}")
