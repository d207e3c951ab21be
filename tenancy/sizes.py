"""Counting, once per tree load, the units below every unit at each level, by retirement."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import cast

from sqlalchemy import Connection, Table, delete, insert, select

from tenancy.levels import CODE_LENGTHS, LEVEL_BY_CODE_LENGTH, Level
from tenancy.models import NEVER_RETIRED, Jurisdiction, SubtreeSize

_PREFIXES = sorted(CODE_LENGTHS.values())


def count_subtrees(connection: Connection) -> int:
    """Replace subtree_sizes with fresh counts; returns how many rows it now holds."""
    ids: dict[str, int] = {}
    by_length: dict[int, list[tuple[str, dt.date]]] = {length: [] for length in _PREFIXES}
    every = select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.valid_to)
    for unit_id, code, retired in connection.execute(every):
        ids[code] = unit_id
        by_length[len(code)].append((code, retired or NEVER_RETIRED))
    below: Counter[tuple[str, Level, dt.date]] = Counter()
    for length, units in by_length.items():
        level = LEVEL_BY_CODE_LENGTH[length]
        # A unit's ancestors' codes are the prefixes of its own (the loader enforces it).
        for prefix in (p for p in _PREFIXES if p < length):
            below.update((code[:prefix], level, until) for code, until in units)
    connection.execute(delete(SubtreeSize))
    rows = [
        {"unit_id": ids[code], "level": level, "until": until, "units": units}
        for (code, level, until), units in below.items()
        if code in ids
    ]
    table = cast(Table, SubtreeSize.__table__)
    for start in range(0, len(rows), 10_000):
        connection.execute(insert(table), rows[start : start + 10_000])
    return len(rows)
