"""reports, approvals, reopenings, reporting rules per tree and their events

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("province", "city", "county", "township", "village")
EVENT_KINDS = ("submitted", "approved", "returned", "withdrawn", "reopened", "rule_set")
REPORT_STATES = ("submitted", "returned", "reopened")


def _enum(name: str, values: tuple[str, ...], length: int) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=length, create_constraint=True)


def _unit(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["unit_id"], ["jurisdictions.id"], name=op.f(f"fk_{table}_unit_id_jurisdictions")
    )


def _event(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["workflow_events.id"], name=op.f(f"fk_{table}_{column}_workflow_events")
    )


def upgrade() -> None:
    op.create_table(
        "workflow_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", _enum("event_kind", EVENT_KINDS, 20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=True),
        sa.Column("actor_subject_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("issuer", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_subject_id"],
            ["subjects.id"],
            name=op.f("fk_workflow_events_actor_subject_id_subjects"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["tokens.id"], name=op.f("fk_workflow_events_token_id_tokens")
        ),
        _unit("workflow_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_events")),
    )
    op.create_index(
        "ix_workflow_events_unit_id_month", "workflow_events", ["unit_id", "month_index"]
    )
    op.create_table(
        "reporting_rules",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("level", _enum("level", LEVELS, 10), nullable=False),
        sa.Column("deadline_day", sa.Integer(), nullable=False),
        sa.Column("approves", sa.Boolean(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "deadline_day BETWEEN 1 AND 28", name=op.f("ck_reporting_rules_deadline_day")
        ),
        _event("reporting_rules", "event_id"),
        _unit("reporting_rules"),
        sa.PrimaryKeyConstraint("unit_id", "level", name=op.f("pk_reporting_rules")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=False),
        sa.Column("state", _enum("report_state", REPORT_STATES, 20), nullable=False),
        sa.Column("first_submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_event_id", sa.Integer(), nullable=False),
        sa.Column("returned_event_id", sa.Integer(), nullable=True),
        sa.Column("audit_mark", sa.Integer(), nullable=False),
        _event("reports", "returned_event_id"),
        _event("reports", "submitted_event_id"),
        _unit("reports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("unit_id", "month_index", name="unit_month"),
    )
    op.create_index("ix_reports_month_index_unit_id", "reports", ["month_index", "unit_id"])
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=False),
        sa.Column("approved_event_id", sa.Integer(), nullable=False),
        sa.Column("audit_mark", sa.Integer(), nullable=False),
        sa.Column("withdrawn_event_id", sa.Integer(), nullable=True),
        sa.Column("returned", sa.Boolean(), nullable=False),
        _event("approvals", "approved_event_id"),
        _event("approvals", "withdrawn_event_id"),
        _unit("approvals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    # One active approval per unit and month: a racing second approver fails here.
    op.create_index(
        "ix_approvals_active",
        "approvals",
        ["unit_id", "month_index"],
        unique=True,
        sqlite_where=sa.text("withdrawn_event_id IS NULL"),
        postgresql_where=sa.text("withdrawn_event_id IS NULL"),
    )
    op.create_index("ix_approvals_month_index_unit_id", "approvals", ["month_index", "unit_id"])
    op.create_table(
        "reopenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month_index", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        _event("reopenings", "event_id"),
        _unit("reopenings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reopenings")),
    )
    op.create_index("ix_reopenings_month_index_unit_id", "reopenings", ["month_index", "unit_id"])


def downgrade() -> None:
    for table in ("reopenings", "approvals", "reports", "reporting_rules", "workflow_events"):
        op.drop_table(table)
