"""Scopes: the subtrees a caller may use for one action, as SQL predicates.

Only `authz.scope` makes a Scope (through `_mint`, which nothing else imports: a test checks);
every repository query over scoped data takes one. A subtree is a path range, so a scope is
a handful of ranges whatever the size of the tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, Delete, Insert, Select, Update, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from tenancy.paths import path_codes, within

# Execution options that say how a statement was scoped; tests fail on statements that read
# scoped tables during a request with neither (tests/scoping.py).
SCOPED = "quhua_scoped"
SCOPE_EXEMPT = "quhua_scope_exempt"

Statement = TypeVar("Statement", Select, Update, Delete)  # type: ignore[type-arg]
# An INSERT … SELECT reads scoped tables too: it may be marked as a whole.
Exempted = TypeVar("Exempted", Select, Update, Delete, Insert)  # type: ignore[type-arg]
PathColumn = InstrumentedAttribute[str] | ColumnElement[str]


def unscoped(statement: Exempted, *, why: str) -> Exempted:
    """Mark a statement that reads scoped tables on purpose, without a caller's scope."""
    return statement.execution_options(**{SCOPE_EXEMPT: why})


@dataclass(frozen=True, slots=True)
class ScopeRoot:
    jurisdiction_id: int
    code: str
    path: str


class _Minted:
    """Proof that a Scope came from the door in authz."""


class Scope:
    """Equal scopes (the same action over the same subtrees) may share what is built from
    them, such as a repository's prepared statements."""

    __slots__ = ("_ancestor_paths", "_key", "action", "roots")

    def __init__(self, minted: _Minted, action: str, roots: Iterable[ScopeRoot]) -> None:
        if not isinstance(minted, _Minted):
            raise TypeError("a Scope is made only by authz.scope")
        ordered = sorted(roots, key=lambda root: root.path)
        kept: list[ScopeRoot] = []
        for root in ordered:
            # A root inside another root adds nothing.
            if not any(root.path.startswith(outer.path) for outer in kept):
                kept.append(root)
        self.action = action
        self.roots: tuple[ScopeRoot, ...] = tuple(kept)
        ancestors = {
            "/".join(codes[:depth]) + "/"
            for root in kept
            for codes in [path_codes(root.path)]
            for depth in range(1, len(codes))
        }
        self._ancestor_paths = frozenset(p for p in ancestors if not self.contains(p))
        self._key = (action, self.roots)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scope) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"Scope({self.action}, {[root.code for root in self.roots]})"

    @property
    def is_empty(self) -> bool:
        return not self.roots

    def contains(self, path: str) -> bool:
        """Whether the unit at this path lies in one of the scope's subtrees."""
        return any(path.startswith(root.path) for root in self.roots)

    def is_ancestor(self, path: str) -> bool:
        """Whether the unit at this path lies above the scope (its name is public)."""
        return path in self._ancestor_paths

    def can_see(self, path: str) -> bool:
        return self.contains(path) or self.is_ancestor(path)

    def covers(self, path: PathColumn) -> ColumnElement[bool]:
        """Rows whose path lies in the scope's subtrees."""
        if not self.roots:
            return false()
        return or_(*(within(path, root.path) for root in self.roots))

    def visible(self, path: PathColumn) -> ColumnElement[bool]:
        """Rows of the tree the caller may list: the subtrees, and the units above them."""
        if not self._ancestor_paths:
            return self.covers(path)
        return or_(self.covers(path), path.in_(sorted(self._ancestor_paths)))

    def within_scope(self, statement: Statement, path: PathColumn) -> Statement:
        """The statement, kept to rows whose path lies in the scope's subtrees."""
        return statement.where(self.covers(path)).execution_options(**{SCOPED: self.action})

    def within_view(self, statement: Statement, path: PathColumn) -> Statement:
        """The statement, kept to units of the tree the caller may see (see `visible`)."""
        return statement.where(self.visible(path)).execution_options(**{SCOPED: self.action})


def _mint(action: str, roots: Iterable[ScopeRoot]) -> Scope:
    """For authz.scope only."""
    return Scope(_Minted(), action, roots)
