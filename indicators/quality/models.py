"""The stored data-quality settings: one row, written by every catalogue load."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class QualitySettingsRow(Base):
    """The catalogue's `[quality]` settings (`QualitySettings.as_json`), row id 1. No row:
    the defaults, with no plausible ranges and no consistency checks."""

    __tablename__ = "quality_settings"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
