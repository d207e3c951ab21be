"""`quhua outliers`: the values far from their unit's own history, as a table for scripts."""

from __future__ import annotations

from typing import Annotated

import typer

from authz.roles import Action
from authz.scope import operator_scope
from core.db.session import RequestSession
from core.errors import NotFound, shown
from indicators.catalogue_index import catalogue_index
from indicators.quality.listing import Units, findings
from indicators.quality.outliers import (
    Outlier,
    OutlierMethod,
    Severity,
    outlier_examiner,
    outlier_search,
)
from indicators.quality.store import quality_settings
from quhua.cli.access import run
from quhua.cli.common import DatabaseOption
from tenancy import repository
from tenancy.levels import Level

COLUMNS = (
    "unit",
    "element",
    "disaggregation",
    "period",
    "value",
    "score",
    "severity",
    "centre",
    "spread",
    "spread_kind",
    "history",
)


def _row(found: Outlier) -> tuple[str, ...]:
    score = found.score
    return (
        found.unit.code,
        found.element.code,
        found.disaggregation or "-",
        str(found.period),
        f"{found.value:g}",
        f"{score.score:.2f}",
        found.severity.value,
        f"{score.centre:g}",
        f"{score.spread:.4g}",
        score.spread_kind.value,
        str(score.points),
    )


def outliers(
    under: Annotated[str, typer.Option("--under", help="The root unit (a code).")],
    period: Annotated[str, typer.Option("--period", help="A month, quarter or year: 2024-03.")],
    level: Annotated[
        Level, typer.Option("--level", help="The units examined, at or below the root.")
    ] = Level.VILLAGE,
    method: Annotated[OutlierMethod, typer.Option("--method")] = OutlierMethod.MODIFIED_Z_SCORE,
    severity: Annotated[
        Severity, typer.Option("--severity", help="The least severity listed.")
    ] = Severity.MODERATE,
    element: Annotated[
        str | None, typer.Option("--element", help="Only this element (a code).")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Print every outlier under the root, one tab-separated line each after a header, in
    unit code order: the z-score is (x - mean) / SD and the modified z-score 0.6745 (x -
    median) / MAD over the unit's earlier periods (the catalogue's [quality.outliers])."""

    async def work(session: RequestSession) -> list[Outlier]:
        scope = await operator_scope(session, Action.READ_VALUES)
        index = await catalogue_index(session)
        settings = (await quality_settings(session)).outliers
        search = outlier_search(
            index,
            settings,
            level=level,
            period=period,
            element=element,
            method=method,
            severity=severity,
        )
        roots = await repository.by_codes(session, scope, [under.strip()])
        root = roots.get(under.strip())
        if root is None:
            raise NotFound(f"--under: no jurisdiction has code {shown(under)}")
        units = Units(scope, root, level, search.period.start)
        found, _ = await findings(
            session, units, outlier_examiner(session, search), after=None, limit=None
        )
        return [f.item for f in found]

    listed = run(database_url, work, writes=False)
    typer.echo("\t".join(COLUMNS))
    for found in listed:
        typer.echo("\t".join(_row(found)))
