"""Data quality as partners read it: outliers, implausible indicator values, consistency."""

from __future__ import annotations

import strawberry

from indicators.quality.consistency import ConsistencyResult, ConsistencyStatus
from indicators.quality.outliers import Outlier as OutlierFound
from indicators.quality.outliers import OutlierMethod, Severity
from indicators.quality.plausibility import Bound, Implausible
from indicators.quality.scores import Spread
from schema.jurisdictions.types import Jurisdiction
from schema.rollups.types import Aggregate, IndicatorValue

strawberry.enum(
    OutlierMethod,
    description="How a value is compared with its unit's history: Z_SCORE, (x - mean) / SD of "
    "the earlier periods; MODIFIED_Z_SCORE, 0.6745 (x - median) / MAD; the SEASONAL ones, "
    "the same over the same month (or quarter) of earlier years.",
)
strawberry.enum(
    Severity,
    name="OutlierSeverity",
    description="MODERATE: |z| above 2 or modified z above 3.5; EXTREME: above 3 or 5 "
    "(the catalogue's thresholds, WHO's data quality review by default).",
)
strawberry.enum(
    Spread,
    name="ScoreSpread",
    description="What a score divided by: the SD, the MAD, or the mean absolute deviation "
    "from the median when more than half the history holds one value (MAD 0).",
)
strawberry.enum(
    ConsistencyStatus,
    description="UNDER_REPORTED / OVER_REPORTED: below / above the reference by more than "
    "the check's gap; NOT_COMPARABLE: a figure is missing or the reference is 0.",
)
strawberry.enum(Bound, name="PlausibleBound", description="Which end of the range a value passed.")


@strawberry.type(description="A value far from its unit's own history.")
class Outlier:
    unit: Jurisdiction
    element: str = strawberry.field(description="The data element's code.")
    disaggregation: str = strawberry.field(
        description="The option combination (parity=1;sex=male); empty for an element without "
        "categories."
    )
    period: str
    method: OutlierMethod
    value: float = strawberry.field(
        description="The unit's figure: a village's report, a unit above's roll-up."
    )
    score: float = strawberry.field(description="Signed: negative below the history's centre.")
    severity: Severity
    threshold: float = strawberry.field(description="The threshold |score| passed.")
    history_points: int = strawberry.field(
        description="Reported periods in the history (periods not reported are left out)."
    )
    history_from: str = strawberry.field(description="The earliest period of the history.")
    history_to: str = strawberry.field(description="The latest period of the history.")
    mean: float | None = strawberry.field(description="The history's mean (z-scores).")
    standard_deviation: float | None = strawberry.field(
        description="The history's sample SD (z-scores)."
    )
    median: float | None = strawberry.field(description="The history's median (modified).")
    median_absolute_deviation: float | None = strawberry.field(
        description="Median of |x - median| over the history (modified z-scores)."
    )
    mean_absolute_deviation: float | None = strawberry.field(
        description="Mean of |x - median|, what the score divided by (times 1.253314) when "
        "the MAD is 0; null otherwise."
    )
    spread: Spread

    @classmethod
    def from_found(cls, found: OutlierFound) -> Outlier:
        score = found.score
        robust = found.method.robust
        return cls(
            unit=Jurisdiction.from_model(found.unit),
            element=found.element.code,
            disaggregation=found.disaggregation,
            period=str(found.period),
            method=found.method,
            value=found.value,
            score=score.score,
            severity=found.severity,
            threshold=found.threshold,
            history_points=score.points,
            history_from=str(found.history_first),
            history_to=str(found.history_last),
            mean=None if robust else score.centre,
            standard_deviation=None if robust else score.spread,
            median=score.centre if robust else None,
            median_absolute_deviation=(
                (score.spread if score.spread_kind is Spread.MEDIAN_ABSOLUTE_DEVIATION else 0.0)
                if robust
                else None
            ),
            mean_absolute_deviation=(
                score.spread if score.spread_kind is Spread.MEAN_ABSOLUTE_DEVIATION else None
            ),
            spread=score.spread_kind,
        )


@strawberry.type(description="An indicator value outside the catalogue's plausible range.")
class ImplausibleIndicator:
    unit: Jurisdiction
    period: str
    indicator: IndicatorValue
    minimum: float | None = strawberry.field(description="The range's lower end, if any.")
    maximum: float | None = strawberry.field(description="The range's upper end, if any.")
    bound: Bound

    @classmethod
    def from_found(cls, found: Implausible) -> ImplausibleIndicator:
        return cls(
            unit=Jurisdiction.from_model(found.unit),
            period=str(found.period),
            indicator=IndicatorValue.from_result(found.result),
            minimum=found.range.minimum,
            maximum=found.range.maximum,
            bound=found.bound,
        )


@strawberry.type(description="One unit's figure of an element against its reference element.")
class ConsistencyCheck:
    unit: Jurisdiction
    check: str = strawberry.field(description="The check's code in the catalogue.")
    name: str
    period: str
    element: str = strawberry.field(description="The element checked (births).")
    reference_element: str = strawberry.field(description="Its reference (hospital_births).")
    reported: Aggregate
    reference: Aggregate
    gap_ratio: float | None = strawberry.field(
        description="(reported - reference) / reference: -0.2 is a fifth below the reference."
    )
    allowed_gap: float = strawberry.field(description="The check's gap, a share of the reference.")
    status: ConsistencyStatus
    flagged: bool = strawberry.field(description="UNDER_REPORTED or OVER_REPORTED.")
    reason: str | None = strawberry.field(description="Why the figures are not comparable.")

    @classmethod
    def from_found(cls, found: ConsistencyResult) -> ConsistencyCheck:
        return cls(
            unit=Jurisdiction.from_model(found.unit),
            check=found.check.code,
            name=found.check.name,
            period=str(found.period),
            element=found.check.element,
            reference_element=found.check.reference,
            reported=Aggregate.from_result(found.reported),
            reference=Aggregate.from_result(found.reference),
            gap_ratio=found.gap_ratio,
            allowed_gap=found.check.gap,
            status=found.status,
            flagged=found.flagged,
            reason=found.reason,
        )
