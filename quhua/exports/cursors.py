"""Export cursors: the position of one row in an export's total order, url-safe and opaque.

An aggregates row sits at (period, unit path, column, combo key): periods in order, units by
path, columns as asked, combos by key. A values row sits at (unit path, month, combo id).
Each cursor also carries a fingerprint of the export's arguments, so a cursor is refused by
an export it was not issued for (other units, periods or columns would make it point
nowhere, or somewhere else). Nothing in a cursor grants anything: every resumed request is
checked, and filtered, as a new one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from core.errors import BadUserInput, shown

_PATH = re.compile(r"(\d{1,12}/){1,5}")
_NUMBER = re.compile(r"\d{1,9}")
_COMBO = re.compile(r"[^|\s]{0,200}")
_MAX_CURSOR = 400


def fingerprint(*parts: object) -> str:
    """A short digest of an export's arguments."""
    text = "\x1f".join(str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True, slots=True, order=True)
class AggregatePosition:
    month_index: int
    path: str
    column: int
    combo: str


@dataclass(frozen=True, slots=True, order=True)
class ValuePosition:
    path: str
    month_index: int
    combo_id: int


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _fields(cursor: str, kind: str, print_: str, count: int) -> list[str]:
    refused = BadUserInput(f"after: {shown(cursor)} is not a cursor issued for this export")
    if len(cursor) > _MAX_CURSOR:
        raise refused
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (UnicodeError, binascii.Error, ValueError):
        raise refused from None
    fields = text.split("|")
    if len(fields) != count + 2 or fields[0] != kind:
        raise refused
    if fields[1] != print_:
        raise BadUserInput(
            f"after: {shown(cursor)} was issued for an export with other arguments: resume "
            "with the same under, level, periods, columns and options"
        )
    return fields[2:]


def aggregate_cursor(print_: str, position: AggregatePosition) -> str:
    p = position
    return _encode(f"a|{print_}|{p.month_index}|{p.path}|{p.column}|{p.combo}")


def decode_aggregate_cursor(cursor: str | None, print_: str) -> AggregatePosition | None:
    if cursor is None:
        return None
    month, path, column, combo = _fields(cursor, "a", print_, 4)
    if not (
        _NUMBER.fullmatch(month)
        and _PATH.fullmatch(path)
        and _NUMBER.fullmatch(column)
        and _COMBO.fullmatch(combo)
    ):
        raise BadUserInput(f"after: {shown(cursor)} is not a cursor issued for this export")
    return AggregatePosition(int(month), path, int(column), combo)


def value_cursor(print_: str, position: ValuePosition) -> str:
    p = position
    return _encode(f"v|{print_}|{p.path}|{p.month_index}|{p.combo_id}")


def decode_value_cursor(cursor: str | None, print_: str) -> ValuePosition | None:
    if cursor is None:
        return None
    path, month, combo = _fields(cursor, "v", print_, 3)
    if not (_PATH.fullmatch(path) and _NUMBER.fullmatch(month) and _NUMBER.fullmatch(combo)):
        raise BadUserInput(f"after: {shown(cursor)} is not a cursor issued for this export")
    return ValuePosition(path, int(month), int(combo))
