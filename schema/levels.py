"""The Level enum, registered with GraphQL once for every type that uses it."""

from __future__ import annotations

import strawberry

from tenancy.levels import Level

strawberry.enum(
    Level,
    description="Level of a unit in the division tree, from the province down to the village.",
)

__all__ = ["Level"]
