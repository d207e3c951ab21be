"""Mutations that store values."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.values import mutations
from schema.context import Info
from schema.values.types import ValueInput, ValueKeyInput, ValuesPayload

# Required, and refused when blank: every change set says why.
Reason = Annotated[str, strawberry.argument(description="Why: kept with every change.")]


@strawberry.type
class ValuesMutation:
    @strawberry.mutation(
        description="Store values for units you may report for: every row, or none if any "
        "row is wrong (each reported in errors by its index). Changes are audited."
    )
    async def submit_values(
        self, info: Info, input: list[ValueInput], reason: Reason
    ) -> ValuesPayload:
        outcome = await mutations.submit(info.context, [row.to_row() for row in input], reason)
        return ValuesPayload.from_outcome(outcome)

    @strawberry.mutation(description="Delete stored values, all or none; audited like changes.")
    async def delete_values(
        self, info: Info, input: list[ValueKeyInput], reason: Reason
    ) -> ValuesPayload:
        outcome = await mutations.delete(info.context, [row.to_row() for row in input], reason)
        return ValuesPayload.from_outcome(outcome)
