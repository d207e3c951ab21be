"""Mutations that set targets and the thresholds assessments are graded by."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.targets import mutations
from schema.context import Info
from schema.targets.types import (
    AssessmentThresholds,
    TargetInput,
    TargetKeyInput,
    TargetsPayload,
)

Reason = Annotated[str, strawberry.argument(description="Why: kept with every change.")]


@strawberry.type
class TargetsMutation:
    @strawberry.mutation(
        description="Set yearly targets for units below those you administer (never your own "
        "unit or one above it): every row, or none if any row is wrong (each reported in "
        "errors by its index). A target for the same unit, year and code is replaced. Audited."
    )
    async def set_targets(
        self, info: Info, input: list[TargetInput], reason: Reason
    ) -> TargetsPayload:
        outcome = await mutations.set_targets(info.context, [row.to_row() for row in input], reason)
        return TargetsPayload.from_outcome(outcome)

    @strawberry.mutation(description="Remove targets, all or none; audited like changes.")
    async def remove_targets(
        self, info: Info, input: list[TargetKeyInput], reason: Reason
    ) -> TargetsPayload:
        outcome = await mutations.set_targets(info.context, [row.to_row() for row in input], reason)
        return TargetsPayload.from_outcome(outcome)

    @strawberry.mutation(
        description="Set the scores that grade the assessments of every unit below a unit you "
        "administer (the nearest setting above a unit holds; defaults 100 and 98); leave both "
        "out to remove the unit's setting. Audited. Returns the unit's setting, or null."
    )
    async def set_assessment_thresholds(
        self,
        info: Info,
        jurisdiction: str,
        reason: Reason,
        commended: float | None = None,
        passed: float | None = None,
    ) -> AssessmentThresholds | None:
        found = await mutations.set_thresholds(
            info.context,
            jurisdiction=jurisdiction,
            commended=commended,
            passed=passed,
            reason=reason,
        )
        if found is None:
            return None
        return AssessmentThresholds(
            commended=found.commended, passed=found.passed, set_at=found.set_at
        )
