"""The five levels of the division tree and the shape of their codes."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def depth(self) -> int:
        """1 for a province, 5 for a village."""
        return _ORDER.index(self) + 1

    @property
    def code_length(self) -> int:
        """Digits of a statistical division code (统计用区划代码) at this level."""
        return CODE_LENGTHS[self]

    @property
    def path_length(self) -> int:
        """Characters of the materialised path of a unit at this level (codes and `/`s):
        every code has its level's length and every parent is one level up."""
        return sum(CODE_LENGTHS[level] + 1 for level in _ORDER[: self.depth])

    @property
    def parent(self) -> Level | None:
        """The level one up, or None for a province."""
        return _ORDER[self.depth - 2] if self.depth > 1 else None

    @property
    def child(self) -> Level | None:
        """The level one down, or None for a village."""
        return _ORDER[self.depth] if self.depth < len(_ORDER) else None


_ORDER = list(Level)
CODE_LENGTHS = {
    Level.PROVINCE: 2,
    Level.CITY: 4,
    Level.COUNTY: 6,
    Level.TOWNSHIP: 9,
    Level.VILLAGE: 12,
}
LEVEL_BY_CODE_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}
