"""The validation enums, registered with GraphQL once for every type that uses them."""

from __future__ import annotations

import strawberry

from indicators.validation.rules import Importance, MissingValueStrategy, Operator

strawberry.enum(Importance, description="How much a failing rule matters; HIGH blocks a report.")
strawberry.enum(
    Operator,
    name="ValidationOperator",
    description="How a rule's two sides compare; the pairs ask whether each side holds values.",
)
strawberry.enum(
    MissingValueStrategy,
    description="When a rule is skipped for lack of values (otherwise a missing one is 0).",
)

__all__ = ["Importance", "MissingValueStrategy", "Operator"]
