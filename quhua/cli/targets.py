"""`quhua targets`: yearly targets from a file, their listing, and the grading thresholds."""

from __future__ import annotations

import csv
import getpass
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from authz.roles import Action
from authz.scope import operator_scope
from core.db.session import RequestSession
from core.errors import BadUserInput, NotFound, shown
from core.files.csvfile import CsvFileError, read_csv
from core.files.report import FileReport
from core.files.textfiles import TextSource
from indicators.assessment import Thresholds
from indicators.audit import Author
from indicators.catalogue_index import catalogue_index
from indicators.targets import reading, thresholds
from indicators.targets.store import (
    TargetRow,
    bound_of,
    units_by_code,
    write_targets,
    year_at,
    year_of,
)
from quhua.cli.access import run
from quhua.cli.common import DatabaseOption, fail, finish

app = typer.Typer(no_args_is_help=True, help="Set, list and grade yearly targets.")

COLUMNS = ("unit", "year", "indicator", "bound", "value", "weight", "veto")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n", ""}
ReasonOption = Annotated[str, typer.Option(help="Why: kept with every change.")]


def _operator() -> Author:
    return Author(None, f"cli:{getpass.getuser()}")


@dataclass
class TargetsReport(FileReport):
    changed: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**self.errors_dict(), "changed": self.changed, "unchanged": self.unchanged}


def _number(text: str, name: str, default: float | None = None) -> float:
    if not text and default is not None:
        return default
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} {shown(text)} is not a number") from None


def _veto(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"veto {shown(text)} is not true or false")


def read_rows(source: TextSource, report: TargetsReport) -> list[TargetRow]:
    """The file's rows as targets; rows that cannot be read are counted as bad in the report."""
    rows: list[TargetRow] = []
    with source.open() as text:
        for row in read_csv(text, COLUMNS):
            report.rows += 1
            if row.fields is None:
                report.add_error(
                    row.line,
                    f"{row.width} fields where the header has {row.header_width}",
                    limit=1000,
                )
                continue
            unit, year, indicator, bound, value, weight, veto = row.fields
            try:
                rows.append(
                    TargetRow(
                        jurisdiction=unit,
                        year=year,
                        indicator=indicator,
                        bound=bound_of(bound),
                        value=_number(value, "value"),
                        weight=_number(weight, "weight", 1.0),
                        veto=_veto(veto),
                        line=row.line,
                    )
                )
            except ValueError as error:
                report.add_error(row.line, str(error), limit=1000)
    return rows


@app.command("import")
def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV (plain, .gz or .xz): unit,year,indicator,bound,value,weight,veto.",
        ),
    ],
    reason: ReasonOption = "import",
    dry_run: Annotated[bool, typer.Option(help="Check and report; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Set every row's target (replacing one for the same unit, year and indicator), or none
    if any row is wrong; every change is audited with the file's name and line."""
    report = TargetsReport()
    try:
        rows = read_rows(TextSource(file), report)
    except CsvFileError as error:
        fail(f"{file}: {error}")

    async def work(session: RequestSession) -> None:
        scope = await operator_scope(session, Action.WRITE_TARGETS)
        outcome = await write_targets(
            session,
            scope=scope,
            index=await catalogue_index(session),
            rows=rows,
            author=_operator(),
            reason=reason,
            source=f"import {file.name}",
            operator=True,
            max_rows=None,
            check_only=dry_run or not report.ok,
        )
        for problem in outcome.problems:
            line = rows[problem.index].line if problem.index < len(rows) else 0
            report.add_error(line or 0, problem.message, limit=1000)
        report.sort_errors()
        report.changed, report.unchanged = outcome.changed, outcome.unchanged
        report.written = report.ok and not dry_run

    run(database_url, work)
    finish(file, report, as_json=as_json, summary=_summary)


def _summary(file: Path, report: TargetsReport) -> list[str]:
    if not report.written:
        return [f"checked {file.name}: {report.rows} targets, none wrong; nothing written"]
    return [
        f"imported {file.name}: {report.rows} targets; {report.changed} set or changed, "
        f"{report.unchanged} unchanged"
    ]


def _plain(value: float) -> str:
    """A figure as the store keeps it (six decimals), without trailing zeros: 9.5, 2000."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


@app.command("list")
def list_targets(
    under: Annotated[str, typer.Option(help="The code of the unit whose subtree to list.")],
    year: Annotated[
        str | None, typer.Option(help="A year (2024) or statistical year (2024FP); all if none.")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Print the targets of the units under a unit, as CSV that `import` reads back."""

    async def work(session: RequestSession) -> list[tuple[str, Any]]:
        scope = await operator_scope(session, Action.READ_TARGETS)
        index = await catalogue_index(session)
        units, _ = await units_by_code(session, scope, {under.strip()})
        root = units.get(under.strip())
        if root is None:
            raise NotFound(f"no jurisdiction has code {shown(under)}")
        month_index = None
        if year is not None:
            try:
                month_index = year_of(index, year).month_index
            except ValueError as error:
                raise BadUserInput(f"year: {error}") from error
        return await reading.targets_under(
            session, scope, root_path=root.path, month_index=month_index
        )

    found = run(database_url, work, writes=False)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for code, target in found:
        writer.writerow(
            [
                code,
                str(year_at(target.month_index)),
                target.indicator,
                target.bound.value,
                _plain(target.value),
                _plain(target.weight),
                "true" if target.veto else "false",
            ]
        )
    typer.echo(out.getvalue(), nl=False)


@app.command("thresholds")
def set_thresholds(
    at: Annotated[str, typer.Option("--at", help="The unit whose subtree below it to grade.")],
    commended: Annotated[
        float | None, typer.Option(help="Scores of at least this are COMMENDED (default 100).")
    ] = None,
    passed: Annotated[
        float | None, typer.Option(help="Scores of at least this are PASSED (default 98).")
    ] = None,
    clear: Annotated[
        bool, typer.Option(help="Remove the unit's setting: the nearest above holds again.")
    ] = False,
    reason: ReasonOption = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Set the thresholds grading the units below a unit; with neither value nor --clear,
    print the thresholds that grade the units below it now."""
    showing = commended is None and passed is None and not clear

    async def work(session: RequestSession) -> Thresholds | None:
        scope = await operator_scope(session, Action.WRITE_TARGETS)
        if showing:
            units, _ = await units_by_code(session, scope, {at.strip()})
            unit = units.get(at.strip())
            if unit is None:
                raise NotFound(f"no jurisdiction has code {shown(at)}")
            return await thresholds.thresholds_below(session, unit.path)
        return await thresholds.set_thresholds(
            session,
            scope=scope,
            code=at,
            commended=None if clear else commended,
            passed=None if clear else passed,
            author=_operator(),
            reason=reason,
        )

    result = run(database_url, work, writes=not showing)
    if as_json:
        shown_result = (
            None
            if result is None
            else {"commended": result.commended, "passed": result.passed, "setAt": result.set_at}
        )
        typer.echo(json.dumps(shown_result))
    elif result is None:
        typer.echo(f"{at}: no setting; the nearest above it holds (or 100 and 98)")
    else:
        where = f"set at {result.set_at}" if result.set_at else "the defaults"
        typer.echo(
            f"units below {at}: commended at {result.commended:g}, passed at {result.passed:g} "
            f"({where})"
        )
