"""`quhua validate`: running the catalogue's validation rules over a subtree and a period."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sqlalchemy import select

from indicators.catalogue_index import catalogue_index_sync
from indicators.periods import PeriodError
from indicators.validation.on_demand import validate_subtree
from indicators.validation.refresh import load_rules
from indicators.validation.rules import Importance
from indicators.validation.steps import run_sync
from quhua.cli.common import DatabaseOption, fail, writing
from tenancy.models import Jurisdiction

# Bad arguments end the command with this code; violations found do not.
BAD_ARGUMENTS = 2


def validate(
    under: Annotated[str, typer.Option("--under", help="The subtree's root (a code).")],
    period: Annotated[
        str,
        typer.Option(
            "--period", help="2024-03, 2024-Q1, 2024 or 2024FP: each of its months is checked."
        ),
    ],
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="Only this rule (a code; repeatable).")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Evaluate the rules at every unit of the subtree for the period, store what fails,
    resolve what no longer does, and print a summary per level."""
    with writing(database_url) as (connection, _):
        index = catalogue_index_sync(connection)
        try:
            asked = index.period(period)
        except PeriodError as error:
            fail(f"--period: {error}", code=BAD_ARGUMENTS)
        root = connection.execute(
            select(Jurisdiction.code, Jurisdiction.name, Jurisdiction.path).where(
                Jurisdiction.code == under.strip()
            )
        ).first()
        if root is None:
            fail(f"--under: no jurisdiction has code {under!r}", code=BAD_ARGUMENTS)
        rules = run_sync(connection, load_rules(index))
        if rule:
            unknown = sorted(set(rule) - {r.code for r in rules})
            if unknown:
                known = ", ".join(r.code for r in rules) or "none"
                fail(
                    f"--rule: no validation rule has code {', '.join(map(repr, unknown))} "
                    f"(the catalogue has: {known})",
                    code=BAD_ARGUMENTS,
                )
            rules = [r for r in rules if r.code in rule]
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not sys.stderr.isatty(),
            transient=True,
        ) as progress:
            task = progress.add_task(f"validating {root.code} for {asked}", total=None)
            summary = validate_subtree(
                connection,
                index,
                root_path=root.path,
                period=asked,
                rules=rules,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    typer.echo(f"validated {root.code} {root.name} for {asked}: {len(rules)} rules")
    for level, counts in summary.items():
        by_importance = ", ".join(
            f"{counts.open[importance]} {importance.value}"
            for importance in reversed(Importance)
            if counts.open[importance]
        )
        typer.echo(
            f"{level.value}: {counts.units} units, {sum(counts.open.values())} open violations"
            f"{f' ({by_importance})' if by_importance else ''}; "
            f"{counts.found} new, {counts.resolved} resolved"
        )
