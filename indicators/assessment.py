"""Assessing a unit on its targets for a year: each target met or not, a weighted score, a grade.

Pure arithmetic over the actual figures, which the callers read from the roll-up store as
every aggregate is read (`indicators.rollups.evaluation`): a county's birth rate here is the
county's birth rate everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from indicators.periods import Period
from indicators.targets.models import Bound

DEFAULT_COMMENDED = 100.0
DEFAULT_PASSED = 98.0
# Scores are shares of weights: two that differ by less are the same score.
_SCORE_DIGITS = 9


class Grade(StrEnum):
    COMMENDED = "commended"
    PASSED = "passed"
    FAILED = "failed"
    VETOED = "vetoed"


class Basis(StrEnum):
    """Which values an assessment counted."""

    ALL_DATA = "all_data"
    APPROVED_DATA = "approved_data"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The scores that grade: at least `commended` is COMMENDED, at least `passed` PASSED;
    `set_at` is the code of the unit whose row they come from (None: the defaults)."""

    commended: float = DEFAULT_COMMENDED
    passed: float = DEFAULT_PASSED
    set_at: str | None = None


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A target as the assessment needs it."""

    indicator: str
    bound: Bound
    value: float
    weight: float
    veto: bool


@dataclass(frozen=True, slots=True)
class Actual:
    """A target's actual figure for the unit and year, as the store holds it."""

    value: float | None
    name: str = ""
    unit: str = ""
    reporting_units: int = 0
    expected_units: int = 0
    # Why there is no figure, when there is none.
    null_reason: str | None = None


@dataclass(frozen=True, slots=True)
class TargetResult:
    target: TargetSpec
    actual: Actual
    met: bool
    # How far the actual lies on the good side of the bound: value − actual for AT_MOST,
    # actual − value for AT_LEAST; negative when not met; None without an actual.
    margin: float | None

    @property
    def missing(self) -> bool:
        return self.actual.value is None


@dataclass(frozen=True, slots=True)
class Assessment:
    period: Period
    basis: Basis
    results: tuple[TargetResult, ...]
    score: float
    grade: Grade
    reason: str
    thresholds: Thresholds


def judge(target: TargetSpec, actual: Actual) -> TargetResult:
    """Whether the actual figure keeps the target; a missing figure never does."""
    if actual.value is None:
        return TargetResult(target, actual, False, None)
    if target.bound is Bound.AT_MOST:
        margin = target.value - actual.value
    else:
        margin = actual.value - target.value
    return TargetResult(target, actual, margin >= 0, margin)


def _figure(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _score(score: float) -> str:
    """The score cut (never rounded up) to two decimals: 99.999 is not shown as 100."""
    return _figure(math.floor(score * 100 + 1e-6) / 100)


def _failure(result: TargetResult) -> str:
    target = result.target
    side = "at most" if target.bound is Bound.AT_MOST else "at least"
    wanted = f"{target.indicator} {side} {_figure(target.value)}"
    if result.actual.value is None:
        return f"{wanted}: no figure ({result.actual.null_reason or 'no data'})"
    return f"{wanted}: {_figure(result.actual.value)}"


def assess(
    period: Period,
    targets: Sequence[TargetSpec],
    actuals: Sequence[Actual],
    *,
    thresholds: Thresholds,
    basis: Basis,
) -> Assessment | None:
    """The unit's assessment on its targets (None for a unit without any: nothing to grade).

    The score is the weighted share of targets met, 0 to 100. A veto target not met grades the
    unit VETOED whatever its score; otherwise the score meets the thresholds or it FAILED.
    """
    if not targets:
        return None
    results = tuple(judge(t, a) for t, a in zip(targets, actuals, strict=True))
    total = sum(r.target.weight for r in results)
    kept = sum(r.target.weight for r in results if r.met)
    score = round(100 * kept / total, _SCORE_DIGITS)
    failed = [r for r in results if not r.met]
    vetoes = [r for r in failed if r.target.veto]
    listed = "; ".join(_failure(r) for r in failed)
    shown = _score(score)
    if vetoes:
        grade = Grade.VETOED
        reason = f"vetoed by {'; '.join(_failure(r) for r in vetoes)} (score {shown})"
        others = [r for r in failed if not r.target.veto]
        if others:
            reason += f"; not met besides: {'; '.join(_failure(r) for r in others)}"
    elif score >= thresholds.commended:
        grade = Grade.COMMENDED
        reason = f"score {shown}: every target met" if not failed else f"score {shown}; {listed}"
    elif score >= thresholds.passed:
        grade = Grade.PASSED
        reason = f"score {shown}, at least {_figure(thresholds.passed)}; not met: {listed}"
    else:
        grade = Grade.FAILED
        reason = f"score {shown}, below {_figure(thresholds.passed)}; not met: {listed}"
    return Assessment(period, basis, results, score, grade, reason, thresholds)
