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
    }
)


def tables_of(statement: Any) -> set[str]:
    return {element.name for element in visitors.iterate(statement) if isinstance(element, Table)}


class ScopeGuard:
    """Listens to before_execute on every engine; keeps statements that skipped the door."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def __call__(self, _conn: Any, statement: Any, _multi: Any, _params: Any, options: Any) -> None:
        merged = {**getattr(statement, "get_execution_options", dict)(), **(options or {})}
        # New rows are the services' to check; reading or changing existing ones needs a scope.
        if not merged.get("quhua_request") or isinstance(statement, Insert):
            return
        touched = tables_of(statement) & SCOPED_TABLES
        if touched and not (merged.get(SCOPED) or merged.get(SCOPE_EXEMPT)):
            self.violations.append(f"{sorted(touched)}: {statement}")
