"""Targets, assessments and their audit as GraphQL serves them."""

from __future__ import annotations

import datetime as dt

import strawberry

from indicators import assessment as domain
from indicators.assessment import Basis, Grade
from indicators.submission import Outcome
from indicators.targets.models import Bound, TargetChange
from indicators.targets.reading import StoredTarget
from indicators.targets.store import TargetRow, year_at
from resolvers.targets.queries import ChangeView
from schema.values.types import ValueRowError

strawberry.enum(Bound, name="TargetBound", description="The side of its value a figure must keep.")
strawberry.enum(
    Grade,
    name="AssessmentGrade",
    description="COMMENDED: the score reached the commended threshold (100 unless configured); "
    "PASSED: the passed threshold (98); FAILED: below it; VETOED: a veto target was not met, "
    "whatever the score.",
)
strawberry.enum(
    Basis,
    name="AssessmentBasis",
    description="Which values an assessment counted. ALL_DATA: every value stored, approved or "
    "not. APPROVED_DATA: approved values only, once the year's approvals are in.",
)

YEAR = "A calendar year (2024) or a statistical year (2024FP)."


@strawberry.input(description="A target for one unit and year: set, or replaced if it exists.")
class TargetInput:
    jurisdiction: str = strawberry.field(
        description="The unit's code: strictly below a unit you administer."
    )
    year: str = strawberry.field(description=YEAR)
    indicator: str = strawberry.field(
        description="An indicator's code (birth_rate) or a data element's (births)."
    )
    bound: Bound
    value: float
    weight: float = strawberry.field(
        default=1.0, description="Its share of the score, above 0; 1 unless given."
    )
    veto: bool = strawberry.field(
        default=False, description="Not met, it vetoes the assessment (一票否决)."
    )

    def to_row(self) -> TargetRow:
        return TargetRow(
            jurisdiction=self.jurisdiction,
            year=self.year,
            indicator=self.indicator,
            bound=self.bound,
            value=self.value,
            weight=self.weight,
            veto=self.veto,
        )


@strawberry.input(description="Which target to remove.")
class TargetKeyInput:
    jurisdiction: str
    year: str = strawberry.field(description=YEAR)
    indicator: str

    def to_row(self) -> TargetRow:
        return TargetRow(jurisdiction=self.jurisdiction, year=self.year, indicator=self.indicator)


@strawberry.type(description="What a change of targets did: everything, or nothing and why.")
class TargetsPayload:
    ok: bool
    changed: int = strawberry.field(description="Targets set, changed or removed.")
    unchanged: int = strawberry.field(description="Rows that matched what was stored.")
    errors: list[ValueRowError]

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> TargetsPayload:
        return cls(
            ok=outcome.ok,
            changed=outcome.changed if outcome.ok else 0,
            unchanged=outcome.unchanged if outcome.ok else 0,
            errors=[
                ValueRowError(index=p.index, code=p.code.value, message=p.message)
                for p in outcome.problems
            ],
        )


@strawberry.type(name="Target", description="A yearly target of a unit.")
class TargetType:
    year: str
    indicator: str = strawberry.field(description="An indicator's or a data element's code.")
    bound: Bound
    value: float
    weight: float
    veto: bool
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, target: StoredTarget) -> TargetType:
        return cls(
            year=str(year_at(target.month_index)),
            indicator=target.indicator,
            bound=target.bound,
            value=target.value,
            weight=target.weight,
            veto=target.veto,
            updated_at=target.updated_at,
        )


@strawberry.type(description="One target of an assessment, with the unit's actual figure.")
class TargetResult:
    indicator: str
    name: str = strawberry.field(description="The indicator's or element's name.")
    unit: str = strawberry.field(description="‰, %, … (empty for an element's count).")
    bound: Bound
    value: float = strawberry.field(description="The target's value.")
    weight: float
    veto: bool
    actual: float | None = strawberry.field(
        description="The unit's figure for the year, as every aggregate reads it; null when "
        "there is none (missing is true, and nullReason says why)."
    )
    met: bool = strawberry.field(description="A missing figure is not met.")
    margin: float | None = strawberry.field(
        description="How far the actual lies on the good side of the bound: value − actual "
        "for AT_MOST, actual − value for AT_LEAST; negative when not met, null when missing."
    )
    missing: bool = strawberry.field(description="No figure: no unit reported it.")
    null_reason: str | None
    reporting_units: int
    expected_units: int

    @classmethod
    def from_result(cls, found: domain.TargetResult) -> TargetResult:
        target, actual = found.target, found.actual
        return cls(
            indicator=target.indicator,
            name=actual.name,
            unit=actual.unit,
            bound=target.bound,
            value=target.value,
            weight=target.weight,
            veto=target.veto,
            actual=actual.value,
            met=found.met,
            margin=found.margin,
            missing=found.missing,
            null_reason=actual.null_reason,
            reporting_units=actual.reporting_units,
            expected_units=actual.expected_units,
        )


@strawberry.type(description="The scores that grade an assessment.")
class AssessmentThresholds:
    commended: float = strawberry.field(description="At least this score is COMMENDED.")
    passed: float = strawberry.field(description="At least this score is PASSED.")
    set_at: str | None = strawberry.field(
        description="The unit above whose setting holds; null for the defaults (100, 98)."
    )


@strawberry.type(description="A unit assessed on its targets for a year.")
class Assessment:
    year: str
    basis: Basis
    score: float = strawberry.field(description="The weighted share of targets met, 0 to 100.")
    grade: Grade
    reason: str = strawberry.field(description="The grade's reason, naming the targets not met.")
    thresholds: AssessmentThresholds
    targets: list[TargetResult]

    @classmethod
    def from_assessment(cls, found: domain.Assessment) -> Assessment:
        grading = found.thresholds
        return cls(
            year=str(found.period),
            basis=found.basis,
            score=found.score,
            grade=found.grade,
            reason=found.reason,
            thresholds=AssessmentThresholds(
                commended=grading.commended, passed=grading.passed, set_at=grading.set_at
            ),
            targets=[TargetResult.from_result(r) for r in found.results],
        )


@strawberry.type(description="One change to a target: what it was, what it became, who, why.")
class TargetChangeEntry:
    id: strawberry.ID
    at: dt.datetime
    actor: str
    issuer: str | None = strawberry.field(
        description="Who issued the token the actor used, when that was someone else."
    )
    jurisdiction_code: str
    year: str
    indicator: str
    reason: str
    source: str = strawberry.field(description="api, or import FILE:LINE.")
    old: TargetState | None = strawberry.field(description="Null for a new target.")
    new: TargetState | None = strawberry.field(description="Null for a removed one.")

    @classmethod
    def from_view(cls, view: ChangeView) -> TargetChangeEntry:
        change = view.change
        return cls(
            id=strawberry.ID(str(change.id)),
            at=change.at,
            actor=change.actor,
            issuer=change.issuer,
            jurisdiction_code=view.code,
            year=view.year,
            indicator=change.indicator,
            reason=change.reason,
            source=change.source,
            old=TargetState.old_of(change),
            new=TargetState.new_of(change),
        )


@strawberry.type(description="A target's bound, value, weight and veto at one time.")
class TargetState:
    bound: Bound
    value: float
    weight: float
    veto: bool

    @classmethod
    def old_of(cls, change: TargetChange) -> TargetState | None:
        if change.old_bound is None:
            return None
        return cls(
            bound=change.old_bound,
            value=change.old_value or 0.0,
            weight=change.old_weight or 0.0,
            veto=bool(change.old_veto),
        )

    @classmethod
    def new_of(cls, change: TargetChange) -> TargetState | None:
        if change.new_bound is None:
            return None
        return cls(
            bound=change.new_bound,
            value=change.new_value or 0.0,
            weight=change.new_weight or 0.0,
            veto=bool(change.new_veto),
        )
