"""Consistency checks: an element against a reference element, per unit and period.

Under-reporting is this domain's classic failure (a national check of 2010 found six
provinces' verified births more than 10% above those reported), so births reported are
checked against births registered elsewhere (by hospitals, or a census). Both figures are
the unit's aggregates as every reader sees them: a village's own reports, a unit above's
roll-up from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from core.db.session import RequestSession
from indicators.catalogue_index import CatalogueIndex
from indicators.periods import Period
from indicators.quality.listing import Examine
from indicators.quality.settings import ConsistencyCheck
from indicators.rollups.evaluation import Aggregate, ElementPlan, UnitBucket
from indicators.rollups.reading import read_figures
from tenancy.models import Jurisdiction


class ConsistencyStatus(StrEnum):
    CONSISTENT = "consistent"
    UNDER_REPORTED = "under_reported"  # below the reference by more than the gap
    OVER_REPORTED = "over_reported"  # above it by more than the gap
    NOT_COMPARABLE = "not_comparable"  # either figure missing, or a reference of 0


@dataclass(frozen=True, slots=True)
class ConsistencyResult:
    unit: Jurisdiction
    check: ConsistencyCheck
    period: Period
    reported: Aggregate
    reference: Aggregate
    # (reported - reference) / reference: -0.2 is a fifth below the reference.
    gap_ratio: float | None
    status: ConsistencyStatus
    reason: str | None

    @property
    def flagged(self) -> bool:
        return self.status in (ConsistencyStatus.UNDER_REPORTED, ConsistencyStatus.OVER_REPORTED)


def compare(
    reported: Aggregate, reference: Aggregate, gap: float
) -> tuple[float | None, ConsistencyStatus, str | None]:
    """The gap ratio, the status and, when not comparable, why."""
    if reported.value is None or reference.value is None:
        why = reported.null_reason if reported.value is None else reference.null_reason
        return None, ConsistencyStatus.NOT_COMPARABLE, why
    if reference.value == 0:
        return None, ConsistencyStatus.NOT_COMPARABLE, "the reference is 0"
    ratio = (reported.value - reference.value) / reference.value
    if ratio < -gap:
        return ratio, ConsistencyStatus.UNDER_REPORTED, None
    if ratio > gap:
        return ratio, ConsistencyStatus.OVER_REPORTED, None
    return ratio, ConsistencyStatus.CONSISTENT, None


def consistency_examiner(
    session: RequestSession,
    index: CatalogueIndex,
    period: Period,
    checks: Sequence[ConsistencyCheck],
    *,
    flagged_only: bool,
) -> Examine[ConsistencyResult]:
    """What runs the checks on a batch of units: one result per unit and check (the
    flagged ones only, if asked)."""
    plans = [
        (
            check,
            ElementPlan.of(
                index.elements[check.element], index.elements[check.element].combos.values(), period
            ),
            ElementPlan.of(
                index.elements[check.reference],
                index.elements[check.reference].combos.values(),
                period,
            ),
        )
        for check in checks
    ]
    wanted = sorted({index.elements[code].id for c in checks for code in (c.element, c.reference)})

    async def examine(
        units: Sequence[Jurisdiction],
    ) -> list[tuple[Jurisdiction, str, ConsistencyResult]]:
        buckets = [UnitBucket.of(u.id, u.level, u.valid_to, period, wanted) for u in units]
        figures = await read_figures(session, buckets)
        found = []
        for unit, bucket in zip(units, buckets, strict=True):
            for check, element, reference in plans:
                reported = element.aggregate(bucket, figures[bucket])
                referred = reference.aggregate(bucket, figures[bucket])
                ratio, status, reason = compare(reported, referred, check.gap)
                result = ConsistencyResult(
                    unit, check, period, reported, referred, ratio, status, reason
                )
                if result.flagged or not flagged_only:
                    found.append((unit, check.code, result))
        return found

    return examine
