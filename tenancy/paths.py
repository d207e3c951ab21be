"""Materialised paths: `64/6401/640104/` lists a unit's ancestors' codes and its own.

A subtree is one range on the path column, so "is X inside Y" and "every unit at level L
under Y" are single indexed predicates on SQLite and PostgreSQL alike. Paths hold digits and
`/` only, so every path that starts with P sorts between P and P + `~`.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func
from sqlalchemy.orm import InstrumentedAttribute

SEPARATOR = "/"
_UPPER = "~"


def child_path(parent_path: str | None, code: str) -> str:
    """The path of a unit with this code under a parent with that path (None for a root)."""
    return f"{parent_path or ''}{code}{SEPARATOR}"


def path_codes(path: str) -> list[str]:
    """The codes along a path, root first, the unit's own last."""
    return path.rstrip(SEPARATOR).split(SEPARATOR)


def within(
    column: InstrumentedAttribute[str] | ColumnElement[str],
    root_path: str | InstrumentedAttribute[str] | ColumnElement[str],
) -> ColumnElement[bool]:
    """Rows whose path lies in the subtree at root_path, the root itself included."""
    return and_(column >= root_path, column < root_path + _UPPER)


def strictly_within(
    column: InstrumentedAttribute[str] | ColumnElement[str],
    root_path: str | InstrumentedAttribute[str] | ColumnElement[str],
) -> ColumnElement[bool]:
    """Rows whose path lies below root_path, the root itself excluded."""
    return and_(column > root_path, column < root_path + _UPPER)


def ancestor_paths(path: str) -> list[str]:
    """The paths of a unit's ancestors and its own, root first."""
    codes = path_codes(path)
    return [SEPARATOR.join(codes[: depth + 1]) + SEPARATOR for depth in range(len(codes))]


def path_prefixes(column: ColumnElement[str], lengths: list[int]) -> list[ColumnElement[str]]:
    """The first `length` characters of the path column for each length: where paths are
    made of codes of fixed length per level, the paths of a unit's ancestors (one index
    seek each on the unique path, where a range join would pair every row with every root)."""
    return [func.substr(column, 1, length) for length in lengths]
