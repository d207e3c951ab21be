"""A check that every statement a request sends over scoped tables went through a Scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.sql import visitors

from tenancy.scope import SCOPE_EXEMPT, SCOPED

# Tables whose rows belong to a jurisdiction's subtree.
SCOPED_TABLES = frozenset(
    {
        "jurisdictions",
        "grants",
        "policy_audit",
        "data_values",
        "value_changes",
        "rollups",
        "rollup_reports",
        "subtree_sizes",
        "reports",
        "approvals",
        "reopenings",
        "workflow_events",
        "reporting_rules",
        "targets",
        "target_changes",
        "assessment_thresholds",
        "assessment_threshold_changes",
        "validation_violations",
    }
)


def tables_of(statement: Any) -> set[str]:
    return {element.name for element in visitors.iterate(statement) if isinstance(element, Table)}


def tables_read(statement: Any) -> set[str]:
    """The tables whose existing rows the statement reads or changes.

    An INSERT's target gets new rows, which the services check themselves; what counts is
    what it reads: its SELECT, or subqueries among its values (plain VALUES read nothing).
    """
    if isinstance(statement, Insert):
        return {
            name
            for child in statement.get_children()
            if child is not statement.table
            for name in tables_of(child)
        }
    return tables_of(statement)


class ScopeGuard:
    """Listens to before_execute on every engine; keeps statements that skipped the door."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def __call__(self, _conn: Any, statement: Any, _multi: Any, _params: Any, options: Any) -> None:
        merged = {**getattr(statement, "get_execution_options", dict)(), **(options or {})}
        if isinstance(statement, Insert) and statement.select is not None:
            # An INSERT … SELECT may carry its mark on the SELECT (a scoped select inserted).
            merged = {**statement.select.get_execution_options(), **merged}
        if not merged.get("quhua_request"):
            return
        touched = tables_read(statement) & SCOPED_TABLES
        if touched and not (merged.get(SCOPED) or merged.get(SCOPE_EXEMPT)):
            self.violations.append(f"{sorted(touched)}: {statement}")
