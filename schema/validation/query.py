"""Root fields for validation: the violations stored for a subtree and a period."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.validation import queries
from schema.context import Info
from schema.pagination import Connection, to_connection
from schema.periods import PERIOD
from schema.validation.enums import Importance
from schema.validation.types import ValidationViolation


@strawberry.type
class ValidationQuery:
    @strawberry.field(
        description="Validation rules failing in the subtree of `under`, for periods inside "
        "`period` (a quarter's rules are listed for the quarter or the year, not for a "
        "month), oldest first. Needs values:read there."
    )
    async def validation_violations(
        self,
        info: Info,
        *,
        under: Annotated[str, strawberry.argument(description="The subtree's root code.")],
        period: Annotated[str, strawberry.argument(description=PERIOD)],
        importance: Importance | None = None,
        rule: Annotated[
            str | None, strawberry.argument(description="Only this rule (its code).")
        ] = None,
        include_resolved: Annotated[
            bool, strawberry.argument(description="Also those that data has since fixed.")
        ] = False,
        first: Annotated[
            int | None, strawberry.argument(description="0 to 1000, default 50.")
        ] = None,
        after: str | None = None,
    ) -> Connection[ValidationViolation]:
        page = await queries.validation_violations(
            info.context,
            under=under,
            period=period,
            importance=importance,
            rule=rule,
            include_resolved=include_resolved,
            first=first,
            after=after,
        )
        return to_connection(page, ValidationViolation.from_row)
