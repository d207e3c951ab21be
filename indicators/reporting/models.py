"""Reports, approvals, reopenings and the rules of each tree; every act is an event.

What holds:
- a report is one unit's submission for one month; `first_submitted_at` is the server's
  clock at the first submission and is never written again, so timeliness cannot be edited;
- at most one approval of a unit and month is active (`withdrawn_event_id` NULL), enforced
  by a partial unique index, so two approvers racing cannot both approve;
- an active approval of a unit locks the values of its whole subtree for that month (the
  values whose period ends in it), unless a level above reopened them, until a set time,
  after that approval was made;
- who, when and why of every act is its `workflow_events` row, never overwritten.
"""

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
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, string_enum
from tenancy.levels import Level
from tenancy.models import LEVEL_TYPE


class EventKind(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
    REOPENED = "reopened"
    RULE_SET = "rule_set"


class ReportState(StrEnum):
    SUBMITTED = "submitted"
    # Sent back by a level above with a reason: the unit corrects and submits again.
    RETURNED = "returned"
    # Its approved values were reopened for correction: to be submitted again.
    REOPENED = "reopened"


class WorkflowEvent(Base):
    """One act of the monthly cycle: who, when, why, on which unit and month."""

    __tablename__ = "workflow_events"
    __table_args__ = (Index("ix_workflow_events_unit_id_month", "unit_id", "month_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[EventKind] = mapped_column(string_enum(EventKind, "event_kind"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    # None for a rule change, which holds for every month.
    month_index: Mapped[int | None] = mapped_column(Integer)
    actor_subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    actor: Mapped[str] = mapped_column(String(100))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"))
    issuer: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    # What the act changed, as JSON (a rule before and after, a reopening's end).
    detail: Mapped[str] = mapped_column(Text, default="{}")


class ReportingRule(Base):
    """How a level works in the subtree of a unit: the day of the following month its
    reports (or approvals) are due, and whether its units approve. The nearest ancestor's
    rule wins; levels without one anywhere keep the defaults (indicators.reporting.rules)."""

    __tablename__ = "reporting_rules"
    __table_args__ = (CheckConstraint("deadline_day BETWEEN 1 AND 28", name="deadline_day"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), primary_key=True)
    level: Mapped[Level] = mapped_column(LEVEL_TYPE, primary_key=True)
    deadline_day: Mapped[int] = mapped_column(Integer)
    approves: Mapped[bool] = mapped_column(Boolean)
    event_id: Mapped[int] = mapped_column(ForeignKey("workflow_events.id"))


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("unit_id", "month_index", name="unit_month"),
        Index("ix_reports_month_index_unit_id", "month_index", "unit_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    month_index: Mapped[int] = mapped_column(Integer)
    state: Mapped[ReportState] = mapped_column(string_enum(ReportState, "report_state"))
    first_submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # The deadline as the tree's rules stood at the first submission.
    deadline_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    submitted_event_id: Mapped[int] = mapped_column(ForeignKey("workflow_events.id"))
    returned_event_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_events.id"))
    # The last value change recorded when it was last submitted: later ones came after.
    audit_mark: Mapped[int] = mapped_column(Integer)


class Approval(Base):
    __tablename__ = "approvals"
    __table_args__ = (
        Index(
            "ix_approvals_active",
            "unit_id",
            "month_index",
            unique=True,
            sqlite_where=text("withdrawn_event_id IS NULL"),
            postgresql_where=text("withdrawn_event_id IS NULL"),
        ),
        Index("ix_approvals_month_index_unit_id", "month_index", "unit_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    month_index: Mapped[int] = mapped_column(Integer)
    approved_event_id: Mapped[int] = mapped_column(ForeignKey("workflow_events.id"))
    # The last value change when it was approved: the values as approved are those up to it.
    audit_mark: Mapped[int] = mapped_column(Integer)
    withdrawn_event_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_events.id"))
    # Withdrawn by a level above sending it back, rather than by its own level.
    returned: Mapped[bool] = mapped_column(Boolean, default=False)


class Reopening(Base):
    """Values of a unit's subtree for a month opened for correction until `until`, despite
    the approvals made before `opened_at`."""

    __tablename__ = "reopenings"
    __table_args__ = (Index("ix_reopenings_month_index_unit_id", "month_index", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    month_index: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    event_id: Mapped[int] = mapped_column(ForeignKey("workflow_events.id"))
