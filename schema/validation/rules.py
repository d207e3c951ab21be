"""Validation rules, and the warnings a submission answers with: types that name a unit by
its code, so that the values' payload can hold them."""

from __future__ import annotations

import datetime as dt

import strawberry

# Registers PeriodType with GraphQL first: a type that names it before then gets a
# definition of its own, and the schema two of the same name.
import schema.catalogue.types  # noqa: F401
from indicators.periods import PeriodType
from indicators.validation.refresh import Violation
from indicators.validation.rules import RuleInfo
from schema.levels import Level
from schema.validation.enums import Importance, MissingValueStrategy, Operator


@strawberry.type(description="A check between two linear sums of elements, as DHIS2 has them.")
class ValidationRule:
    code: str
    name: str
    description: str
    left: str = strawberry.field(description="The left side, such as policy_births.")
    operator: Operator
    right: str
    importance: Importance
    period_type: PeriodType = strawberry.field(description="The period it is evaluated over.")
    levels: list[Level] = strawberry.field(description="The levels whose units it checks.")
    missing_value_strategy: MissingValueStrategy

    @classmethod
    def from_info(cls, rule: RuleInfo) -> ValidationRule:
        return cls(
            code=rule.code,
            name=rule.name,
            description=rule.description,
            left=str(rule.left),
            operator=rule.operator,
            right=str(rule.right),
            importance=rule.importance,
            period_type=rule.period_type,
            levels=sorted(rule.levels, key=lambda level: level.depth),
            missing_value_strategy=rule.strategy,
        )


@strawberry.type(
    description="A validation rule failing where a submission wrote: a warning (a HIGH one "
    "refuses the unit's report until the data is fixed)."
)
class ValidationWarning:
    jurisdiction: str = strawberry.field(description="The unit's code.")
    period: str
    rule: ValidationRule
    left_value: float | None = strawberry.field(description="Null where the side held no value.")
    right_value: float | None = strawberry.field(description="Null where the side held no value.")
    found_at: dt.datetime = strawberry.field(description="When it was first found failing.")

    @classmethod
    def from_violation(cls, violation: Violation) -> ValidationWarning:
        return cls(
            jurisdiction=violation.unit_code,
            period=str(violation.period),
            rule=ValidationRule.from_info(violation.rule),
            left_value=violation.left_value,
            right_value=violation.right_value,
            found_at=violation.found_at,
        )
