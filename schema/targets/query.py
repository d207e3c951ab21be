"""Root fields for assessments: a ranking of units, and the audit of targets."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.targets import queries
from resolvers.targets import ranking as rankings
from schema.context import Info
from schema.jurisdictions.types import Jurisdiction
from schema.levels import Level
from schema.pagination import Connection, to_connection
from schema.targets.types import YEAR, Assessment, TargetChangeEntry


@strawberry.type(description="A unit's place in a ranking.")
class RankingEntry:
    rank: int | None = strawberry.field(
        description="1 for the best; equal values share a rank (1, 2, 2, 4); null for units "
        "without a value (no data, or no targets when ranked by SCORE), which come last."
    )
    jurisdiction: Jurisdiction
    value: float | None = strawberry.field(description="The score, or the figure ranked by.")
    null_reason: str | None
    assessment: Assessment | None = strawberry.field(
        description="Ranked by SCORE: the unit's assessment (null without targets); null when "
        "ranked by a figure."
    )

    @classmethod
    def from_ranked(cls, found: rankings.RankedUnit) -> RankingEntry:
        return cls(
            rank=found.rank,
            jurisdiction=Jurisdiction.from_model(found.unit),
            value=found.value,
            null_reason=found.null_reason,
            assessment=Assessment.from_assessment(found.assessment) if found.assessment else None,
        )


@strawberry.type
class TargetsQuery:
    @strawberry.field(
        description="The units at `level` under `under` (not retired before the year began), "
        "ranked by their assessment's score or by one figure for the year, best first."
    )
    async def ranking(
        self,
        info: Info,
        *,
        under: Annotated[str, strawberry.argument(description="The root unit's code.")],
        level: Level,
        year: Annotated[str, strawberry.argument(description=YEAR)],
        by: Annotated[
            str,
            strawberry.argument(
                description="SCORE, or an indicator's or a data element's code (birth_rate)."
            ),
        ] = rankings.SCORE,
        descending: Annotated[
            bool,
            strawberry.argument(
                description="Highest value first (the default); false ranks the lowest first, "
                "as for a birth rate kept at most at a value."
            ),
        ] = True,
        first: Annotated[
            int | None, strawberry.argument(description="Rows: 0 to 1000, default 50.")
        ] = None,
        after: str | None = None,
    ) -> Connection[RankingEntry]:
        page = await rankings.ranking(
            info.context,
            under=under,
            level=level,
            year=year,
            by=by,
            descending=descending,
            first=first,
            after=after,
        )
        return to_connection(page, RankingEntry.from_ranked)

    @strawberry.field(
        description="Every change to the targets of units under `under`, newest first "
        "(needs audit or targets reading there)."
    )
    async def target_changes(
        self,
        info: Info,
        under: Annotated[str, strawberry.argument(description="The root unit's code.")],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TargetChangeEntry]:
        page = await queries.target_changes(info.context, under=under, first=first, after=after)
        return to_connection(page, TargetChangeEntry.from_view)
