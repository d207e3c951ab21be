"""What a validation rule is: two linear sides, an operator, an importance, a period type,
the levels it applies at and a missing-value strategy, as DHIS2 defines them.

A rule is read from the catalogue file (`[validation_rules.CODE]`), checked against the
catalogue's elements and options, stored in `validation_rules`, and read back as a RuleInfo
for evaluation. Its levels are kept as written: a rule that names none applies at the levels
that report any element it reads, as those levels are now (a catalogue change of
`reported_at` moves it with them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from indicators.formulas import FormulaError, LinearForm, parse_formula
from indicators.periods import PeriodType
from tenancy.levels import Level


class Operator(StrEnum):
    EQUAL = "=="
    NOT_EQUAL = "!="
    LESS = "<"
    LESS_OR_EQUAL = "<="
    GREATER = ">"
    GREATER_OR_EQUAL = ">="
    # Both sides hold values, or neither does.
    COMPULSORY_PAIR = "compulsory_pair"
    # Not both sides hold values.
    EXCLUSIVE_PAIR = "exclusive_pair"

    @property
    def is_pair(self) -> bool:
        return self in (Operator.COMPULSORY_PAIR, Operator.EXCLUSIVE_PAIR)


class Importance(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    # A HIGH violation blocks the unit's report for the period.
    HIGH = "high"


class MissingValueStrategy(StrEnum):
    """When a rule is not evaluated for lack of values (DHIS2's strategies, applied to the
    two sides together): a side's term is missing when no unit of the subtree (for a
    village, the village itself) reported its element for the period."""

    # Skipped when any term of either side is missing.
    SKIP_IF_ANY_VALUE_MISSING = "skip_if_any_value_missing"
    # Skipped when every term of one side is missing (DHIS2's default).
    SKIP_IF_ALL_VALUES_MISSING = "skip_if_all_values_missing"
    # Always evaluated: a missing term counts as 0.
    NEVER_SKIP = "never_skip"


RULE_KEYS = {
    "name",
    "description",
    "left",
    "right",
    "operator",
    "importance",
    "period_type",
    "levels",
    "missing_value_strategy",
}
RULE_REQUIRED = {"name", "left", "right", "operator"}
NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as the catalogue file states it, checked."""

    code: str
    name: str
    description: str
    left: LinearForm
    right: LinearForm
    operator: Operator
    importance: Importance
    period_type: PeriodType
    # As written; empty: the levels that report its elements.
    levels: tuple[Level, ...]
    strategy: MissingValueStrategy

    def stored(self) -> dict[str, Any]:
        """The row of `validation_rules` (without its code) that holds the rule."""
        return {
            "name": self.name,
            "description": self.description,
            "left_side": str(self.left),
            "right_side": str(self.right),
            "operator": self.operator,
            "importance": self.importance,
            "period_type": self.period_type,
            "levels": ",".join(level.value for level in self.levels),
            "missing_value_strategy": self.strategy,
        }


@dataclass(frozen=True, slots=True, eq=False)
class RuleInfo:
    """A stored rule, ready to evaluate; compared and hashed by identity."""

    id: int
    code: str
    name: str
    description: str
    left: LinearForm
    right: LinearForm
    operator: Operator
    importance: Importance
    period_type: PeriodType
    levels: frozenset[Level]
    strategy: MissingValueStrategy

    @property
    def elements(self) -> frozenset[str]:
        return self.left.elements | self.right.elements

    @property
    def span(self) -> int:
        return self.period_type.months

    def __str__(self) -> str:
        return f"{self.left} {self.operator.value} {self.right}"


def default_levels(
    elements: Sequence[str], reported_at: Mapping[str, Sequence[Level]]
) -> set[Level]:
    """The levels whose units report any of the elements."""
    return {level for code in elements for level in reported_at.get(code, ())}


def _choice(kind: type[StrEnum], value: Any, where: str, problems: list[str]) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = " | ".join(member.value for member in kind)
        problems.append(f"{where}: {value!r} is not one of {allowed}")
        return None


def _text(table: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str:
    value = table.get(key, "")
    if not isinstance(value, str) or (key in RULE_REQUIRED and not value.strip()):
        problems.append(f"{where}.{key}: must be non-empty text")
        return ""
    if key == "name" and len(value) > NAME_MAX:
        problems.append(f"{where}.{key}: at most {NAME_MAX} characters")
    return value.strip()


def parse_rule(
    code: str,
    table: Mapping[str, Any],
    *,
    options: Mapping[str, Mapping[str, Sequence[str]]],
) -> tuple[RuleSpec | None, list[str]]:
    """The rule of `[validation_rules.CODE]`, checked against the catalogue's elements
    (element → category → options); else every problem, each naming the rule and the
    field. An element reported by a longer period than the rule's holds no value for it
    (its term is missing there, as an aggregate of it would be null)."""
    where = f"validation_rules.{code}"
    problems: list[str] = []
    for key in sorted(set(table) - RULE_KEYS):
        problems.append(
            f"{where}.{key}: unknown key; expected one of {', '.join(sorted(RULE_KEYS))}"
        )
    for key in sorted(RULE_REQUIRED - set(table)):
        problems.append(f"{where}: missing {key}")
    sides: list[LinearForm | None] = []
    for side in ("left", "right"):
        source = table.get(side)
        if source is None:
            sides.append(None)
            continue
        try:
            sides.append(parse_formula(str(source), options))
        except FormulaError as error:
            problems.append(f"{where}.{side}: {error} of {source!r}")
            sides.append(None)
    operator = _choice(Operator, table.get("operator"), f"{where}.operator", problems)
    importance = _choice(
        Importance,
        table.get("importance", Importance.MEDIUM.value),
        f"{where}.importance",
        problems,
    )
    period_type = _choice(
        PeriodType,
        table.get("period_type", PeriodType.MONTH.value),
        f"{where}.period_type",
        problems,
    )
    strategy = _choice(
        MissingValueStrategy,
        table.get("missing_value_strategy", MissingValueStrategy.SKIP_IF_ALL_VALUES_MISSING.value),
        f"{where}.missing_value_strategy",
        problems,
    )
    levels: list[Level] = []
    written = table.get("levels", [])
    for level in written if isinstance(written, list) else [written]:
        try:
            levels.append(Level(level))
        except ValueError:
            problems.append(f"{where}.levels: {level!r} is not a level")
    left, right = sides
    name = _text(table, "name", where, problems)
    description = _text(table, "description", where, problems)
    if problems or left is None or right is None:
        return None, problems
    spec = RuleSpec(
        code=code,
        name=name,
        description=description,
        left=left,
        right=right,
        operator=operator,
        importance=importance,
        period_type=period_type,
        levels=tuple(sorted(set(levels), key=lambda level: -level.depth)),
        strategy=strategy,
    )
    return spec, []
