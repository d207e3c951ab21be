"""Values as reporters send them and as viewers read them."""

from __future__ import annotations

import datetime as dt

import strawberry

from indicators.audit import change_source
from indicators.models import ChangeSet, DataValue, ValueChange
from indicators.submission import Outcome, ValueRow
from resolvers.values.queries import CellView
from schema.validation.rules import ValidationWarning


@strawberry.input(description="One value for one unit, element, breakdown and period.")
class ValueInput:
    jurisdiction: str = strawberry.field(description="The reporting unit's code.")
    element: str = strawberry.field(description="A data element's code, such as births.")
    period: str = strawberry.field(description="2024-03, 2024-Q1 or 2024, as the element is.")
    value: float
    disaggregation: str = strawberry.field(
        default="", description="One option of each category: sex=male;parity=2."
    )
    expected: float | None = strawberry.field(
        default=strawberry.UNSET,
        description="The value you believe is stored (null: none). If another writer changed "
        "it since, the row is refused with CONFLICT instead of overwriting their change.",
    )

    def to_row(self) -> ValueRow:
        checks = self.expected is not strawberry.UNSET
        return ValueRow(
            jurisdiction=self.jurisdiction,
            element=self.element,
            period=self.period,
            disaggregation=self.disaggregation,
            value=self.value,
            expected=self.expected if checks and self.expected is not None else None,
            check_expected=checks,
        )


@strawberry.input(description="Which stored value to delete.")
class ValueKeyInput:
    jurisdiction: str
    element: str
    period: str
    disaggregation: str = ""

    def to_row(self) -> ValueRow:
        return ValueRow(
            jurisdiction=self.jurisdiction,
            element=self.element,
            period=self.period,
            disaggregation=self.disaggregation,
        )


@strawberry.type(description="Why one row was refused.")
class ValueRowError:
    index: int = strawberry.field(description="The row's position in the input, from 0.")
    code: str = strawberry.field(description="BAD_USER_INPUT, NOT_FOUND, FORBIDDEN or CONFLICT.")
    message: str


@strawberry.type(description="What a submission did: everything, or nothing and why.")
class ValuesPayload:
    ok: bool
    changed: int = strawberry.field(description="Values created, changed or deleted.")
    unchanged: int = strawberry.field(description="Rows that matched what was stored.")
    errors: list[ValueRowError]
    violations: list[ValidationWarning] = strawberry.field(
        description="Validation rules failing at the rows' units and months once written."
    )

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> ValuesPayload:
        return cls(
            ok=outcome.ok,
            changed=outcome.changed if outcome.ok else 0,
            unchanged=outcome.unchanged if outcome.ok else 0,
            errors=[
                ValueRowError(index=p.index, code=p.code.value, message=p.message)
                for p in outcome.problems
            ],
            violations=[ValidationWarning.from_violation(v) for v in outcome.violations]
            if outcome.ok
            else [],
        )


@strawberry.type(description="A value as the unit reported it.")
class StoredValue:
    element: str
    disaggregation: str
    period: str
    value: float
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, view: CellView, value: DataValue) -> StoredValue:
        return cls(
            element=view.element,
            disaggregation=view.disaggregation,
            period=view.period,
            value=value.value,
            updated_at=value.updated_at,
        )


@strawberry.type(description="One change to a stored value.")
class ValueChangeEntry:
    id: strawberry.ID
    at: dt.datetime
    actor: str
    issuer: str | None = strawberry.field(
        description="Who issued the token the actor used, when that was someone else."
    )
    actor_token: strawberry.ID | None = strawberry.field(
        description="The id of the token the actor used (null for files and the CLI)."
    )
    element: str
    disaggregation: str
    period: str
    old_value: float | None = strawberry.field(description="Null when there was none.")
    new_value: float | None = strawberry.field(description="Null when it was deleted.")
    reason: str
    source: str = strawberry.field(description="api, or import FILE:LINE.")

    @classmethod
    def from_model(
        cls, view: CellView, change: ValueChange, change_set: ChangeSet
    ) -> ValueChangeEntry:
        return cls(
            id=strawberry.ID(str(change.id)),
            at=change_set.at,
            actor=change_set.actor,
            issuer=change_set.issuer,
            actor_token=(
                strawberry.ID(str(change_set.token_id)) if change_set.token_id is not None else None
            ),
            element=view.element,
            disaggregation=view.disaggregation,
            period=view.period,
            old_value=change.old_value,
            new_value=change.new_value,
            reason=change_set.reason,
            source=change_source(change_set, change),
        )
