"""Whether a rule holds, from its terms' values: pure arithmetic, no database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from indicators.validation.rules import MissingValueStrategy, Operator, RuleInfo

# Values carry at most two decimals and coefficients are whole: sums are compared to that
# precision, so that binary fractions never make 0.1 + 0.2 differ from 0.3. Averages of a
# quarter or year keep six.
DIGITS = 6

# One side: each term's coefficient and value, None where the term is missing.
Terms = Sequence[tuple[int, float | None]]


@dataclass(frozen=True, slots=True)
class Failure:
    """The sides' values of a failing rule (None: the side held no value)."""

    left: float | None
    right: float | None


def _total(side: Terms) -> float:
    return round(sum(c * (v or 0.0) for c, v in side), DIGITS)


def _present(side: Terms, strategy: MissingValueStrategy) -> bool:
    """Whether a side holds values, for a pair: all its terms when missing ones skip the
    rule, any of them otherwise (as DHIS2 reads `skip for missing values` there)."""
    if strategy is MissingValueStrategy.SKIP_IF_ANY_VALUE_MISSING:
        return all(v is not None for _, v in side)
    return any(v is not None for _, v in side)


def judge(rule: RuleInfo, left: Terms, right: Terms) -> Failure | None:
    """The failure, or None where the rule holds or its strategy skips it."""
    operator, strategy = rule.operator, rule.strategy
    if operator.is_pair:
        has_left, has_right = _present(left, strategy), _present(right, strategy)
        fails = (
            has_left != has_right
            if operator is Operator.COMPULSORY_PAIR
            else has_left and has_right
        )
        if not fails:
            return None
        return Failure(_total(left) if has_left else None, _total(right) if has_right else None)
    missing = [[v is None for _, v in side] for side in (left, right)]
    if all(missing[0]) and all(missing[1]):
        # Nothing reported for the period: nothing to check, whatever the strategy (a unit
        # that reports nothing is the completeness figures' concern, not a violation).
        return None
    if strategy is MissingValueStrategy.SKIP_IF_ANY_VALUE_MISSING and any(
        any(side) for side in missing
    ):
        return None
    if strategy is MissingValueStrategy.SKIP_IF_ALL_VALUES_MISSING and any(
        all(side) for side in missing
    ):
        return None
    a, b = _total(left), _total(right)
    holds = {
        Operator.EQUAL: a == b,
        Operator.NOT_EQUAL: a != b,
        Operator.LESS: a < b,
        Operator.LESS_OR_EQUAL: a <= b,
        Operator.GREATER: a > b,
        Operator.GREATER_OR_EQUAL: a >= b,
    }[operator]
    return None if holds else Failure(a, b)
