"""Forward cursor pagination: page sizes, opaque cursors, pages that know their total."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.errors import BadUserInput, shown

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_PATH = re.compile(r"^(\d{1,12}/){1,5}$")
_ID = re.compile(r"^\d{1,18}$")
_MONTH_PATH = re.compile(r"^\d{1,6}:(\d{1,12}/){1,5}$")


def page_size(first: int | None, *, argument: str = "first") -> int:
    """The page size asked for, checked against the limits."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise BadUserInput(f"{argument}: {first} is out of range; ask for 0 to {MAX_PAGE_SIZE}")
    return first


def _encode(kind: str, key: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


def _decode(cursor: str, kind: str, shape: re.Pattern[str], argument: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        text = ""
    found_kind, _, key = text.partition(":")
    if found_kind != kind or not shape.match(key):
        raise BadUserInput(f"{argument}: {shown(cursor)} is not a cursor issued for this list")
    return key


def path_cursor(path: str) -> str:
    """The cursor of a unit in a listing ordered by path."""
    return _encode("p", path)


def id_cursor(row_id: int) -> str:
    """The cursor of a row in a listing ordered by id."""
    return _encode("i", str(row_id))


def month_path_cursor(month_index: int, path: str) -> str:
    """The cursor of a unit's month in a listing ordered by month, then path."""
    return _encode("m", f"{month_index}:{path}")


def decode_month_path_cursor(
    cursor: str | None, *, argument: str = "after"
) -> tuple[int, str] | None:
    if cursor is None:
        return None
    month, _, path = _decode(cursor, "m", _MONTH_PATH, argument).partition(":")
    return int(month), path


def decode_path_cursor(cursor: str | None, *, argument: str = "after") -> str | None:
    return None if cursor is None else _decode(cursor, "p", _PATH, argument)


def decode_id_cursor(cursor: str | None, *, argument: str = "after") -> int | None:
    return None if cursor is None else int(_decode(cursor, "i", _ID, argument))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing, with the cursor of each item and a way to count them all."""

    items: Sequence[T]
    cursors: Sequence[str]
    has_next: bool
    has_previous: bool
    total: Callable[[], Awaitable[int]]


def make_page(
    rows: Sequence[T],
    *,
    limit: int,
    cursor_of: Callable[[T], str],
    after: object | None,
    total: Callable[[], Awaitable[int]],
) -> Page[T]:
    """A page from up to limit + 1 rows: the extra row only says that more follow."""
    items = rows[:limit]
    return Page(
        items=items,
        cursors=[cursor_of(item) for item in items],
        has_next=len(rows) > limit,
        has_previous=after is not None,
        total=total,
    )
