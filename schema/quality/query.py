"""Root fields for data quality over the units at one level under a root."""

from __future__ import annotations

from typing import Annotated

import strawberry

from indicators.quality.outliers import OutlierMethod, Severity
from resolvers.quality import queries
from schema.context import Info
from schema.levels import Level
from schema.pagination import Connection, to_connection
from schema.periods import PERIOD
from schema.quality.types import ConsistencyCheck, ImplausibleIndicator, Outlier

UNDER = "The root unit's code."
LEVEL = "The units examined, at or below the root: villages, the reporting units, by default."
FIRST = "Findings: 0 to 1000, default 50."


@strawberry.type
class QualityQuery:
    @strawberry.field(
        description="Values far from their unit's own history, per element and option "
        "combination, in unit code order. A village's reports; a unit above's roll-up."
    )
    async def outliers(
        self,
        info: Info,
        *,
        under: Annotated[str, strawberry.argument(description=UNDER)],
        period: Annotated[
            str,
            strawberry.argument(
                description="A month, quarter or year, as values are reported: elements "
                "reported by that period type are scored."
            ),
        ],
        level: Annotated[Level, strawberry.argument(description=LEVEL)] = Level.VILLAGE,
        element: Annotated[
            str | None, strawberry.argument(description="One element's code; all when null.")
        ] = None,
        method: OutlierMethod = OutlierMethod.MODIFIED_Z_SCORE,
        severity: Annotated[
            Severity,
            strawberry.argument(description="The least severity listed: MODERATE lists all."),
        ] = Severity.MODERATE,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: str | None = None,
    ) -> Connection[Outlier]:
        page = await queries.outliers(
            info.context,
            under=under,
            period=period,
            level=level,
            element=element,
            method=method,
            severity=severity,
            first=first,
            after=after,
        )
        return to_connection(page, Outlier.from_found)

    @strawberry.field(
        description="Indicator values outside the catalogue's plausible ranges (a sex ratio "
        "at birth outside 100 to 120), in unit code order, then indicator code."
    )
    async def implausible_indicators(
        self,
        info: Info,
        *,
        under: Annotated[str, strawberry.argument(description=UNDER)],
        period: Annotated[str, strawberry.argument(description=PERIOD)],
        level: Annotated[Level, strawberry.argument(description=LEVEL)] = Level.VILLAGE,
        indicator: Annotated[
            str | None,
            strawberry.argument(description="One indicator's code; every range when null."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: str | None = None,
    ) -> Connection[ImplausibleIndicator]:
        page = await queries.implausible_indicators(
            info.context,
            under=under,
            period=period,
            level=level,
            indicator=indicator,
            first=first,
            after=after,
        )
        return to_connection(page, ImplausibleIndicator.from_found)

    @strawberry.field(
        description="Each unit's figure of each consistency check's element against its "
        "reference (births against hospital registrations), flagged beyond the check's gap."
    )
    async def consistency_checks(
        self,
        info: Info,
        *,
        under: Annotated[str, strawberry.argument(description=UNDER)],
        period: Annotated[str, strawberry.argument(description=PERIOD)],
        level: Annotated[Level, strawberry.argument(description=LEVEL)] = Level.VILLAGE,
        check: Annotated[
            str | None, strawberry.argument(description="One check's code; all when null.")
        ] = None,
        flagged_only: Annotated[
            bool, strawberry.argument(description="Only UNDER_REPORTED and OVER_REPORTED.")
        ] = False,
        first: Annotated[int | None, strawberry.argument(description=FIRST)] = None,
        after: str | None = None,
    ) -> Connection[ConsistencyCheck]:
        page = await queries.consistency_checks(
            info.context,
            under=under,
            period=period,
            level=level,
            check=check,
            flagged_only=flagged_only,
            first=first,
            after=after,
        )
        return to_connection(page, ConsistencyCheck.from_found)
