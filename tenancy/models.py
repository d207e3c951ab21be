"""The jurisdiction tree: every unit is a tenant, reachable through its path."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, binary_string, string_enum
from tenancy.levels import Level

LEVEL_TYPE = string_enum(Level, "level", length=10)


class Jurisdiction(Base):
    __tablename__ = "jurisdictions"
    __table_args__ = (
        # valid_to rides along so that counting current units never visits the table.
        Index("ix_jurisdictions_level_path", "level", "path", "valid_to"),
        Index("ix_jurisdictions_parent_id_code", "parent_id", "code"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_interval"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(binary_string(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[Level] = mapped_column(LEVEL_TYPE)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"))
    # Codes of the ancestors and of the unit itself, root first: see tenancy.paths.
    path: Mapped[str] = mapped_column(binary_string(80), unique=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    # The first day the unit no longer exists; None while it is current.
    valid_to: Mapped[dt.date | None] = mapped_column(Date, default=None)

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


# `SubtreeSize.until` of units that are not retired.
NEVER_RETIRED = dt.date(9999, 12, 31)


class SubtreeSize(Base):
    """How many units lie strictly below a unit at each level, by the day they were retired
    (NEVER_RETIRED for current ones): the units expected to report for a period are those
    retired after it began.

    Kept by every tree load, so that completeness never counts a subtree at read time.
    """

    __tablename__ = "subtree_sizes"

    unit_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), primary_key=True)
    level: Mapped[Level] = mapped_column(LEVEL_TYPE, primary_key=True)
    until: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    units: Mapped[int] = mapped_column(Integer)
