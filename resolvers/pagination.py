"""Forward cursor pagination: page sizes, opaque cursors, pages that know their total."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from quhua.errors import BadUserInput

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_CURSOR_PREFIX = "p:"
_PATH = re.compile(r"^(\d{1,12}/){1,5}$")


def page_size(first: int | None, *, argument: str = "first") -> int:
    """The page size asked for, checked against the limits."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise BadUserInput(f"{argument}: {first} is out of range; ask for 0 to {MAX_PAGE_SIZE}")
    return first


def encode_cursor(path: str) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{path}".encode()).decode()


def decode_cursor(cursor: str | None, *, argument: str = "after") -> str | None:
    """The tree path a cursor points after, or None for the first page."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (UnicodeError, binascii.Error, ValueError):
        text = ""
    path = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not _PATH.match(path):
        raise BadUserInput(f"{argument}: {cursor!r} is not a cursor issued by this API")
    return path


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
    path_of: Callable[[T], str],
    after: str | None,
    total: Callable[[], Awaitable[int]],
) -> Page[T]:
    """A page from up to limit + 1 rows: the extra row only says that more follow."""
    items = rows[:limit]
    return Page(
        items=items,
        cursors=[encode_cursor(path_of(item)) for item in items],
        has_next=len(rows) > limit,
        has_previous=after is not None,
        total=total,
    )
