"""Running the rules on demand over a subtree and a period (`quhua validate`): every unit
of the subtree that existed in the period, for each month of it, a batch of units of one
level at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, or_, select

from indicators.catalogue_index import CatalogueIndex
from indicators.periods import Period
from indicators.validation.refresh import refresh_steps
from indicators.validation.rules import Importance, RuleInfo
from indicators.validation.steps import run_sync
from tenancy.levels import Level
from tenancy.models import Jurisdiction
from tenancy.paths import within

UNITS_AT_ONCE = 300


@dataclass(slots=True)
class LevelSummary:
    units: int = 0
    # (rule, unit, period) evaluated
    evaluated: int = 0
    found: int = 0
    resolved: int = 0
    # Open violations after the run, by importance.
    open: Counter[Importance] = field(default_factory=Counter)


def validate_subtree(
    connection: Connection,
    index: CatalogueIndex,
    *,
    root_path: str,
    period: Period,
    rules: Sequence[RuleInfo],
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[Level, LevelSummary]:
    """Evaluate the rules at every unit of the subtree at the path for the period's months,
    storing and resolving violations; what was found, per level, top level first."""
    present = or_(Jurisdiction.valid_to.is_(None), Jurisdiction.valid_to > period.start)
    rows = connection.execute(
        select(Jurisdiction.id, Jurisdiction.level)
        .where(within(Jurisdiction.path, root_path), present)
        .order_by(Jurisdiction.path)
    ).all()
    by_level: dict[Level, list[int]] = {}
    for unit_id, level in rows:
        by_level.setdefault(Level(level), []).append(unit_id)
    months = [month.month_index for month in period.months()]
    ordered = sorted(by_level.items(), key=lambda item: item[0].depth)
    summary = {level: LevelSummary(units=len(units)) for level, units in ordered}
    dialect = connection.dialect.name
    done = 0
    for level, units in ordered:
        counts = summary[level]
        for start in range(0, len(units), UNITS_AT_ONCE):
            batch = units[start : start + UNITS_AT_ONCE]
            cells = [(unit_id, month) for unit_id in batch for month in months]
            steps = refresh_steps(index, cells, dialect=dialect, rules=rules, ancestors=False)
            refreshed = run_sync(connection, steps)
            counts.evaluated += refreshed.evaluated
            counts.found += refreshed.found
            counts.resolved += refreshed.resolved
            counts.open.update(violation.rule.importance for violation in refreshed.open)
            done += len(batch)
            if on_progress is not None:
                on_progress(done, len(rows))
    return summary
