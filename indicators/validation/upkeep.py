"""A catalogue load's rules: stored, and re-run where they now read figures another way.

A new or changed rule, or one that reads an element whose store was rebuilt (its time
aggregation or reporting levels changed), has its open violations dropped (they were found
by another definition) and is evaluated afresh wherever values of its elements are stored,
with their ancestors. A rule the file no longer names goes, with its violations: nothing
checks it any more. All inside the load's transaction, after the store was rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

from sqlalchemy import Connection, Table, delete, insert, select, update

from indicators.catalogue_file import CatalogueSpec
from indicators.catalogue_index import catalogue_index_sync
from indicators.models import DataValue, OptionCombo
from indicators.validation.models import ValidationRule, ValidationViolation
from indicators.validation.refresh import load_rules, refresh_steps
from indicators.validation.steps import run_sync

RULES = cast(Table, ValidationRule.__table__)
VIOLATIONS = cast(Table, ValidationViolation.__table__)
# Cells evaluated at once when a rule is run over everything stored.
CELLS_AT_ONCE = 5000


def store_rules(
    connection: Connection,
    spec: CatalogueSpec,
    *,
    rebuilt: Iterable[str],
    count: Callable[[str, str], None],
) -> None:
    """Create, update or remove the stored rules to match the spec; re-run those that need
    it. `count(kind, outcome)` hears each rule's outcome."""
    stored = {row["code"]: row for row in connection.execute(select(RULES)).mappings()}
    rerun: set[str] = set()
    for code, rule in spec.rules.items():
        values = rule.stored()
        old = stored.get(code)
        if old is None:
            connection.execute(insert(RULES).values(code=code, **values))
            count("validation_rules", "created")
            rerun.add(code)
            continue
        changed = {key: value for key, value in values.items() if old[key] != value}
        if changed:
            connection.execute(update(RULES).where(RULES.c.id == old["id"]).values(**changed))
            count("validation_rules", "updated")
            rerun.add(code)
        else:
            count("validation_rules", "unchanged")
    gone = [row["id"] for code, row in stored.items() if code not in spec.rules]
    if gone:
        connection.execute(delete(VIOLATIONS).where(VIOLATIONS.c.rule_id.in_(gone)))
        connection.execute(delete(RULES).where(RULES.c.id.in_(gone)))
        for _ in gone:
            count("validation_rules", "removed")
    moved = set(rebuilt)
    rerun |= {
        code
        for code, rule in spec.rules.items()
        if moved & (rule.left.elements | rule.right.elements)
    }
    if rerun:
        run_again(connection, rerun)


def run_again(connection: Connection, codes: set[str]) -> None:
    """Drop the rules' open violations and evaluate them wherever their elements hold values."""
    index = catalogue_index_sync(connection)
    rules = [rule for rule in run_sync(connection, load_rules(index)) if rule.code in codes]
    open_ones = VIOLATIONS.c.resolved_at.is_(None)
    connection.execute(
        delete(VIOLATIONS).where(open_ones, VIOLATIONS.c.rule_id.in_([r.id for r in rules]))
    )
    elements = sorted({index.elements[code].id for rule in rules for code in rule.elements})
    cells = (
        select(DataValue.jurisdiction_id, DataValue.month_index)
        .join(OptionCombo, OptionCombo.id == DataValue.combo_id)
        .where(OptionCombo.element_id.in_(elements))
        .distinct()
        .order_by(DataValue.jurisdiction_id, DataValue.month_index)
    )
    found = [(int(unit), int(month)) for unit, month in connection.execute(cells)]
    dialect = connection.dialect.name
    for start in range(0, len(found), CELLS_AT_ONCE):
        steps = refresh_steps(
            index, found[start : start + CELLS_AT_ONCE], dialect=dialect, rules=rules
        )
        run_sync(connection, steps)
