"""Validation rules and their violations, as reviewers see them."""

from __future__ import annotations

import datetime as dt

import strawberry

from indicators.validation.refresh import Violation
from schema.jurisdictions.types import Jurisdiction
from schema.validation.rules import ValidationRule
from tenancy import models


@strawberry.type(description="A rule failing at one unit for one period.")
class ValidationViolation:
    id: strawberry.ID
    rule: ValidationRule
    period: str
    left_value: float | None = strawberry.field(description="Null where the side held no value.")
    right_value: float | None = strawberry.field(description="Null where the side held no value.")
    found_at: dt.datetime = strawberry.field(description="When it was first found failing.")
    resolved_at: dt.datetime | None = strawberry.field(
        description="When data fixed it; null while it is open."
    )
    jurisdiction: Jurisdiction = strawberry.field(description="The unit it fails at.")

    @classmethod
    def from_row(cls, row: tuple[Violation, models.Jurisdiction]) -> ValidationViolation:
        violation, unit = row
        return cls(
            id=strawberry.ID(str(violation.id)),
            jurisdiction=Jurisdiction.from_model(unit),
            rule=ValidationRule.from_info(violation.rule),
            period=str(violation.period),
            left_value=violation.left_value,
            right_value=violation.right_value,
            found_at=violation.found_at,
            resolved_at=violation.resolved_at,
        )
