"""Targets, their audit, and the thresholds assessments are graded by, per tree."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, string_enum


class Bound(StrEnum):
    """Which side of its value a target's actual figure must lie on (the value included)."""

    AT_MOST = "at_most"
    AT_LEAST = "at_least"


BOUND_TYPE = string_enum(Bound, "target_bound", length=10)
# Values and weights as figures are: a rate such as 9.5‰ or 95.25%, a count such as 2,000.
FIGURE = Numeric(20, 6, asdecimal=False)


class Target(Base):
    """One unit's target for one year: an indicator (or data element) of the catalogue,
    by its code, kept at most or at least at a value.

    The year is a period of twelve months kept by its first month (`Period.month_index`):
    a calendar year starts in January, a statistical year (`2024FP`) in the month the
    catalogue said when the target was set, so a later change of that month does not move
    targets already set. A code the catalogue no longer has is assessed as not met.
    """

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "month_index", "indicator", name="unit_year_code"),
        CheckConstraint("weight > 0", name="positive_weight"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    month_index: Mapped[int] = mapped_column(Integer)
    indicator: Mapped[str] = mapped_column(String(40))
    bound: Mapped[Bound] = mapped_column(BOUND_TYPE)
    value: Mapped[float] = mapped_column(FIGURE)
    weight: Mapped[float] = mapped_column(FIGURE)
    veto: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TargetChange(Base):
    """Every change to a target: who, when, why, from where; what it was and what it became
    (the `old_` columns null for a new target, the `new_` ones for a removed one)."""

    __tablename__ = "target_changes"
    __table_args__ = (Index("ix_target_changes_jurisdiction_id_id", "jurisdiction_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor_subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    actor: Mapped[str] = mapped_column(String(100))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"))
    issuer: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    # "api", or "import FILE:LINE".
    source: Mapped[str] = mapped_column(String(300))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    month_index: Mapped[int] = mapped_column(Integer)
    indicator: Mapped[str] = mapped_column(String(40))
    # Each with a CHECK of its own name: constraint names are unique per table on PostgreSQL.
    old_bound: Mapped[Bound | None] = mapped_column(string_enum(Bound, "old_bound", length=10))
    old_value: Mapped[float | None] = mapped_column(FIGURE)
    old_weight: Mapped[float | None] = mapped_column(FIGURE)
    old_veto: Mapped[bool | None] = mapped_column(Boolean)
    new_bound: Mapped[Bound | None] = mapped_column(string_enum(Bound, "new_bound", length=10))
    new_value: Mapped[float | None] = mapped_column(FIGURE)
    new_weight: Mapped[float | None] = mapped_column(FIGURE)
    new_veto: Mapped[bool | None] = mapped_column(Boolean)


class AssessmentThresholds(Base):
    """The scores (0 to 100) that grade the assessments of every unit below this one: at least
    `commended` is COMMENDED, at least `passed` PASSED. The nearest ancestor's row wins;
    without any, 100 and 98. A unit's own row never grades the unit itself: it is set by
    those who assess the units below."""

    __tablename__ = "assessment_thresholds"
    __table_args__ = (
        CheckConstraint("passed >= 0 AND passed <= commended AND commended <= 100", name="order"),
    )

    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), primary_key=True)
    commended: Mapped[float] = mapped_column(FIGURE)
    passed: Mapped[float] = mapped_column(FIGURE)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ThresholdChange(Base):
    """Every change to a unit's thresholds, audited like targets' (null: none were set)."""

    __tablename__ = "assessment_threshold_changes"
    __table_args__ = (
        Index("ix_assessment_threshold_changes_jurisdiction_id_id", "jurisdiction_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor_subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    actor: Mapped[str] = mapped_column(String(100))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"))
    issuer: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    old_commended: Mapped[float | None] = mapped_column(FIGURE)
    old_passed: Mapped[float | None] = mapped_column(FIGURE)
    new_commended: Mapped[float | None] = mapped_column(FIGURE)
    new_passed: Mapped[float | None] = mapped_column(FIGURE)
