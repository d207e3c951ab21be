"""The stored rules and their violations.

What holds after every committed write that refreshed them (every writer of values does, in
its transaction): a unit and period hold an open violation (`resolved_at` NULL) of a rule
exactly when the rule, evaluated over the figures stored now, fails there; at most one per
rule, unit and period (a partial unique index). A violation fixed by later data keeps its
row, with the time it was resolved: the history of what was caught stays answerable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Double, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, string_enum
from indicators.periods import PeriodType
from indicators.validation.rules import Importance, MissingValueStrategy, Operator

OPEN = text("resolved_at IS NULL")


class ValidationRule(Base):
    """A rule as the catalogue states it: sides in canonical form (`indicators.formulas`)."""

    __tablename__ = "validation_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    left_side: Mapped[str] = mapped_column(Text)
    right_side: Mapped[str] = mapped_column(Text)
    operator: Mapped[Operator] = mapped_column(
        string_enum(Operator, "validation_operator", length=20)
    )
    importance: Mapped[Importance] = mapped_column(string_enum(Importance, "importance"))
    period_type: Mapped[PeriodType] = mapped_column(string_enum(PeriodType, "period_type"))
    # The levels it applies at, comma-separated; empty: those that report its elements.
    levels: Mapped[str] = mapped_column(String(60))
    missing_value_strategy: Mapped[MissingValueStrategy] = mapped_column(
        string_enum(MissingValueStrategy, "missing_value_strategy", length=30)
    )


class ValidationViolation(Base):
    """A rule failing at one unit for one period (`span` months from `month_index`), with
    both sides' values (null where a side held no value) when last evaluated."""

    __tablename__ = "validation_violations"
    __table_args__ = (
        Index(
            "ix_validation_violations_open",
            "rule_id",
            "jurisdiction_id",
            "span",
            "month_index",
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        # A subtree's open violations of a period: the units by path, then this range.
        Index(
            "ix_validation_violations_unit_open",
            "jurisdiction_id",
            "month_index",
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("validation_rules.id"))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    span: Mapped[int] = mapped_column(Integer)
    month_index: Mapped[int] = mapped_column(Integer)
    left_value: Mapped[float | None] = mapped_column(Double)
    right_value: Mapped[float | None] = mapped_column(Double)
    found_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
