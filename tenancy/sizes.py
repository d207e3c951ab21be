"""Counting, once per tree load, the current units below every unit at each level."""

from __future__ import annotations

from collections import Counter
from typing import cast

from sqlalchemy import Connection, Table, delete, insert, select

from tenancy.levels import CODE_LENGTHS, LEVEL_BY_CODE_LENGTH, Level
from tenancy.models import Jurisdiction, SubtreeSize

_PREFIXES = sorted(CODE_LENGTHS.values())


def count_subtrees(connection: Connection) -> int:
    """Replace subtree_sizes with fresh counts; returns how many rows it now holds."""
    ids: dict[str, int] = {}
    by_length: dict[int, list[str]] = {length: [] for length in _PREFIXES}
    current = select(Jurisdiction.id, Jurisdiction.code).where(Jurisdiction.valid_to.is_(None))
    for unit_id, code in connection.execute(current):
        ids[code] = unit_id
        by_length[len(code)].append(code)
    below: dict[tuple[str, Level], int] = {}
    for length, codes in by_length.items():
        level = LEVEL_BY_CODE_LENGTH[length]
        # A unit's ancestors' codes are the prefixes of its own (the loader enforces it).
        for prefix in (p for p in _PREFIXES if p < length):
            for code, units in Counter(code[:prefix] for code in codes).items():
                below[code, level] = units
    connection.execute(delete(SubtreeSize))
    rows = [
        {"unit_id": ids[code], "level": level, "units": units}
        for (code, level), units in below.items()
        if code in ids
    ]
    table = cast(Table, SubtreeSize.__table__)
    for start in range(0, len(rows), 10_000):
        connection.execute(insert(table), rows[start : start + 10_000])
    return len(rows)
