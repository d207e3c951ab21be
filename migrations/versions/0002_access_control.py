"""access control: subjects, tokens, grants, the role policy and its audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 13:41:44.228762
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The default role policy as of this revision (written out, not imported, so that later
# changes to the code cannot change what this migration did).
PERMISSIONS = [
    ("aggregate_reader", "tree", "read"),
    ("aggregate_reader", "aggregates", "read"),
    ("aggregate_reader", "indicators", "read"),
    ("viewer", "tree", "read"),
    ("viewer", "values", "read"),
    ("viewer", "aggregates", "read"),
    ("viewer", "indicators", "read"),
    ("viewer", "targets", "read"),
    ("viewer", "assessments", "read"),
    ("viewer", "audit", "read"),
    ("reporter", "values", "write"),
    ("approver", "approvals", "write"),
    ("admin", "grants", "manage"),
    ("admin", "tokens", "manage"),
    ("admin", "targets", "write"),
    ("admin", "catalogue", "write"),
]
INCLUDES = [("reporter", "viewer"), ("approver", "reporter"), ("admin", "approver")]


def upgrade() -> None:
    casbin_rules = op.create_table(
        "casbin_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ptype", sa.String(length=10), nullable=False),
        sa.Column("v0", sa.String(length=100), nullable=False),
        sa.Column("v1", sa.String(length=100), nullable=False),
        sa.Column("v2", sa.String(length=100), nullable=True),
        sa.Column("v3", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casbin_rules")),
    )
    policy_state = op.create_table(
        "policy_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_state")),
    )
    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "person",
                "service",
                name="subject_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("name", name=op.f("uq_subjects_name")),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "viewer",
                "reporter",
                "approver",
                "admin",
                "aggregate_reader",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_grants_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_grants_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.UniqueConstraint("subject_id", "role", "jurisdiction_id", name="subject_role_unit"),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index("ix_grants_jurisdiction_id", ["jurisdiction_id"], unique=False)

    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_tokens_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tokens_token_hash")),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index("ix_tokens_subject_id", ["subject_id"], unique=False)

    op.create_table(
        "policy_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_subject_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "grant",
                "revoke",
                "token_create",
                "token_revoke",
                name="policy_audit_action",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "viewer",
                "reporter",
                "approver",
                "admin",
                "aggregate_reader",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_subject_id"],
            ["subjects.id"],
            name=op.f("fk_policy_audit_actor_subject_id_subjects"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_policy_audit_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_policy_audit_subject_id_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["tokens.id"], name=op.f("fk_policy_audit_token_id_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_audit")),
    )
    with op.batch_alter_table("policy_audit", schema=None) as batch_op:
        batch_op.create_index(
            "ix_policy_audit_jurisdiction_id_id", ["jurisdiction_id", "id"], unique=False
        )
    op.bulk_insert(policy_state, [{"id": 1, "version": 1}])
    op.bulk_insert(
        casbin_rules,
        [
            {"ptype": "p", "v0": role, "v1": "*", "v2": obj, "v3": act}
            for role, obj, act in PERMISSIONS
        ]
        + [
            {"ptype": "g", "v0": role, "v1": included, "v2": None, "v3": None}
            for role, included in INCLUDES
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("policy_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_audit_jurisdiction_id_id")

    op.drop_table("policy_audit")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_tokens_subject_id")

    op.drop_table("tokens")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index("ix_grants_jurisdiction_id")

    op.drop_table("grants")
    op.drop_table("subjects")
    op.drop_table("policy_state")
    op.drop_table("casbin_rules")
