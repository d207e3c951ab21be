"""What a new version of the catalogue would do to the values already stored.

A value is a number for (unit, element, combo of options, month). Changing what those
words mean under stored values would silently re-interpret them: a monthly count read as a
quarter's, a fractional amount read as a count, a breakdown by sex read as one without it.
Such changes are refused, with how many values stand in the way. Changing how values are
read (time aggregation, the levels that report) keeps their meaning, but the store of
aggregates was measured the old way: those elements are rebuilt in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from indicators.catalogue_file import CatalogueSpec
from indicators.models import (
    Category,
    CategoryOption,
    DataElement,
    DataValue,
    ElementCategory,
    OptionCombo,
)
from tenancy.levels import Level
from tenancy.models import Jurisdiction

_ADVICE = "delete those values first, or give the changed element a new code"


@dataclass(slots=True)
class ChangePlan:
    problems: list[str] = field(default_factory=list)
    # element code → why its store is rebuilt
    rebuild: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    value_type: str
    period_type: str
    time_aggregation: str
    reported_at: str
    categories: frozenset[str]


def _stored_elements(connection: Connection) -> dict[str, _Stored]:
    categories: dict[int, set[str]] = defaultdict(set)
    links = select(ElementCategory.element_id, Category.code).join(
        Category, Category.id == ElementCategory.category_id
    )
    for element_id, code in connection.execute(links):
        categories[element_id].add(code)
    rows = connection.execute(
        select(
            DataElement.code,
            DataElement.id,
            DataElement.value_type,
            DataElement.period_type,
            DataElement.time_aggregation,
            DataElement.reported_at,
        )
    )
    return {
        code: _Stored(
            element_id,
            str(value_type),
            str(period_type),
            str(aggregation),
            reported_at,
            frozenset(categories[element_id]),
        )
        for code, element_id, value_type, period_type, aggregation, reported_at in rows
    }


def _values_by_combo(connection: Connection) -> dict[int, list[tuple[str, int]]]:
    """element id → (combo key, number of stored values) for every combo that has any."""
    counted = (
        select(OptionCombo.element_id, OptionCombo.key, func.count())
        .join(DataValue, DataValue.combo_id == OptionCombo.id)
        .group_by(OptionCombo.element_id, OptionCombo.key)
    )
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for element_id, key, count in connection.execute(counted):
        found[element_id].append((key, int(count)))
    return found


def _values_at(connection: Connection, element_id: int, levels: set[str]) -> int:
    counted = (
        select(func.count())
        .select_from(DataValue)
        .join(OptionCombo, OptionCombo.id == DataValue.combo_id)
        .join(Jurisdiction, Jurisdiction.id == DataValue.jurisdiction_id)
        .where(OptionCombo.element_id == element_id, Jurisdiction.level.in_(sorted(levels)))
    )
    return int(connection.execute(counted).scalar_one())


def plan_changes(connection: Connection, spec: CatalogueSpec) -> ChangePlan:
    """What loading the spec would refuse, and which elements' store it would rebuild."""
    plan = ChangePlan()
    stored = _stored_elements(connection)
    combos = _values_by_combo(connection)
    for code, element in spec.elements.items():
        old = stored.get(code)
        if old is None:
            continue
        counts = combos.get(old.id, [])
        values = sum(count for _, count in counts)
        where = f"elements.{code}"
        if values:
            for name, before, after in (
                ("period_type", old.period_type, element.period_type.value),
                ("value_type", old.value_type, element.value_type.value),
            ):
                if before != after:
                    plan.problems.append(
                        f"{where}.{name}: {before} → {after} would re-interpret the {values} "
                        f"values stored for {code}; {_ADVICE}"
                    )
            if old.categories != set(element.categories):
                plan.problems.append(
                    f"{where}.categories: [{', '.join(sorted(old.categories))}] → "
                    f"[{', '.join(sorted(element.categories))}] would re-interpret the "
                    f"{values} values stored for {code} by their old breakdown; {_ADVICE}"
                )
        levels_before = set(old.reported_at.split(","))
        levels_after = {level.value for level in element.reported_at}
        dropped = levels_before - levels_after
        stranded = _values_at(connection, old.id, dropped) if values and dropped else 0
        if stranded:
            plan.problems.append(
                f"{where}.reported_at: {stranded} values of {code} are stored for "
                f"{' and '.join(sorted(dropped, key=_depth))} units, which would no longer "
                f"report it; {_ADVICE}"
            )
        if values and old.time_aggregation != element.time_aggregation.value:
            plan.rebuild[code] = (
                f"its time aggregation changed from {old.time_aggregation} to "
                f"{element.time_aggregation.value} ({values} values)"
            )
        elif values and levels_before != levels_after:
            plan.rebuild[code] = f"the levels that report it changed ({values} values)"
    plan.problems += _removed_options(connection, spec, stored, combos)
    return plan


def _removed_options(
    connection: Connection,
    spec: CatalogueSpec,
    stored: dict[str, _Stored],
    combos: dict[int, list[tuple[str, int]]],
) -> list[str]:
    """Options the file no longer lists that stored values still use."""
    listed = select(Category.code, CategoryOption.code).join(
        Category, Category.id == CategoryOption.category_id
    )
    problems = []
    for category, option in connection.execute(listed):
        if category not in spec.categories or option in spec.categories[category].options:
            continue
        cell = f"{category}={option}"
        for code, old in sorted(stored.items()):
            using = sum(n for key, n in combos.get(old.id, []) if cell in key.split(";"))
            if using:
                problems.append(
                    f"categories.{category}.options: {option!r} is gone, but {using} values "
                    f"of {code} are stored for it; delete those values first, or keep the "
                    f"option"
                )
    return problems


def _depth(level: str) -> int:
    return list(Level).index(Level(level))
