"""roles as data; subjects by normalised name; tokens capped by their issuer's reach; audit
entries with their source, the token used and its issuer

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:30:00
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The roles that existed as code until this revision, now rows (written out, not imported).
BUILT_IN = [
    ("viewer", "查看员", "Viewer"),
    ("reporter", "填报员", "Reporter"),
    ("approver", "审核员", "Approver"),
    ("admin", "管理员", "Administrator"),
    ("aggregate_reader", "汇总查看员", "Aggregate reader"),
]
OLD_ROLES = [code for code, _, _ in BUILT_IN]
OLD_ACTIONS = ["grant", "revoke", "token_create", "token_revoke"]
ACTIONS = [*OLD_ACTIONS, "role_define", "role_update", "role_retire"]
SOURCES = ["api", "cli", "import", "system"]
# The operator's and the demo's names, as earlier revisions wrote them as actors.
DEMO_ACTOR = "quhua demo"


def _enum(values: list[str], name: str, length: int = 20) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def name_key(name: str) -> str:
    """A subject name's identity: NFKC, without surrounding spaces, case-folded (frozen here
    as of this revision)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def _roles() -> None:
    roles = op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_roles_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("code", name=op.f("uq_roles_code")),
    )
    now = sa.func.current_timestamp()
    for code, name_zh, name_en in BUILT_IN:
        op.execute(
            roles.insert().values(
                code=code, name_zh=name_zh, name_en=name_en, builtin=True, created_at=now
            )
        )
    rules = sa.table(
        "casbin_rules",
        sa.column("ptype", sa.String()),
        sa.column("v0", sa.String()),
        sa.column("v1", sa.String()),
        sa.column("v2", sa.String()),
        sa.column("v3", sa.String()),
    )
    op.execute(rules.insert().values(ptype="p", v0="admin", v1="*", v2="roles", v3="manage"))


def _grants() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.alter_column(
            "role",
            existing_type=_enum(OLD_ROLES, "role"),
            type_=sa.String(length=40),
            existing_nullable=False,
        )
        batch_op.create_foreign_key(op.f("fk_grants_role_roles"), "roles", ["role"], ["code"])


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable column referring to target.id, added in place.

    SQLite would otherwise copy the table, and a table others refer to cannot be dropped
    and copied while foreign keys are enforced.
    """
    name = f"fk_{table}_{column}_{target}"
    if op.get_bind().dialect.name == "sqlite":
        if column in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}:
            # Kept by a downgrade (see _drop_reference).
            return
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
            f"CONSTRAINT {name} REFERENCES {target} (id)"
        )
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(name, table, target, [column], ["id"])


def _drop_reference(table: str, column: str, target: str) -> None:
    """Undo _add_reference. SQLite can drop neither a column holding a foreign key nor (by
    copying it) a table others refer to while foreign keys are enforced: there the nullable
    column stays, unused by earlier revisions, and _add_reference finds it again."""
    if op.get_bind().dialect.name == "sqlite":
        return
    op.drop_constraint(f"fk_{table}_{column}_{target}", table, type_="foreignkey")
    op.drop_column(table, column)


def _drop_plain(table: str, column: str) -> None:
    """Drop a column nothing refers to, in place (SQLite 3.35 and later)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def _subjects() -> None:
    op.add_column("subjects", sa.Column("name_key", sa.String(length=100), nullable=True))
    subjects = sa.table(
        "subjects",
        sa.column("id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("name_key", sa.String()),
    )
    connection = op.get_bind()
    taken: set[str] = set()
    for subject_id, name in connection.execute(
        sa.select(subjects.c.id, subjects.c.name).order_by(subjects.c.id)
    ):
        key = name_key(name)[:100]
        if key in taken:
            # Two names that earlier revisions told apart only by width or case: the later
            # one keeps its name, and a key no name can have (U+0001 is refused in names),
            # unique by the subject's id.
            key = f"{key[:80]}\x01{subject_id}"
        taken.add(key)
        connection.execute(
            subjects.update().where(subjects.c.id == subject_id).values(name_key=key)
        )
    op.create_index("uq_subjects_name_key", "subjects", ["name_key"], unique=True)


def _tokens() -> None:
    _add_reference("tokens", "issued_by_subject_id", "subjects")
    op.add_column("tokens", sa.Column("issued_by", sa.String(length=100), nullable=True))
    op.add_column(
        "tokens", sa.Column("limited", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "token_reach",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("actions", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_token_reach_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["tokens.id"], name=op.f("fk_token_reach_token_id_tokens")
        ),
        sa.PrimaryKeyConstraint("token_id", "jurisdiction_id", name=op.f("pk_token_reach")),
    )


def _policy_audit() -> None:
    with op.batch_alter_table("policy_audit", schema=None) as batch_op:
        batch_op.alter_column(
            "action",
            existing_type=_enum(OLD_ACTIONS, "policy_audit_action"),
            type_=_enum(ACTIONS, "policy_audit_action"),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "role",
            existing_type=_enum(OLD_ROLES, "role"),
            type_=sa.String(length=40),
            existing_nullable=True,
        )
        batch_op.alter_column("subject_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(
            sa.Column(
                "source", _enum(SOURCES, "audit_source", 10), nullable=False, server_default="api"
            )
        )
        batch_op.add_column(sa.Column("actor_token_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("issuer", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("before", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("after", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_policy_audit_actor_token_id_tokens"), "tokens", ["actor_token_id"], ["id"]
        )
    audit = sa.table(
        "policy_audit",
        sa.column("actor", sa.String()),
        sa.column("actor_subject_id", sa.Integer()),
        sa.column("source", sa.String()),
    )
    by_operator = audit.c.actor_subject_id.is_(None)
    op.execute(audit.update().where(by_operator, audit.c.actor.like("cli:%")).values(source="cli"))
    op.execute(
        audit.update().where(by_operator, audit.c.actor == DEMO_ACTOR).values(source="system")
    )
    with op.batch_alter_table("policy_audit", schema=None) as batch_op:
        batch_op.alter_column(
            "source", existing_type=_enum(SOURCES, "audit_source", 10), server_default=None
        )


def _change_sets() -> None:
    _add_reference("change_sets", "token_id", "tokens")
    op.add_column("change_sets", sa.Column("issuer", sa.String(length=100), nullable=True))


def upgrade() -> None:
    _roles()
    _grants()
    _subjects()
    _tokens()
    _policy_audit()
    _change_sets()
    state = sa.table("policy_state", sa.column("version", sa.Integer()))
    op.execute(state.update().values(version=state.c.version + 1))


def downgrade() -> None:
    _drop_reference("change_sets", "token_id", "tokens")
    _drop_plain("change_sets", "issuer")
    audit = sa.table(
        "policy_audit", sa.column("action", sa.String()), sa.column("role", sa.String())
    )
    op.execute(audit.delete().where(audit.c.action.notin_(OLD_ACTIONS)))
    op.execute(audit.update().where(audit.c.role.notin_(OLD_ROLES)).values(role=None))
    with op.batch_alter_table("policy_audit", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_policy_audit_actor_token_id_tokens"), type_="foreignkey")
        batch_op.drop_constraint(op.f("ck_policy_audit_audit_source"), type_="check")
        for column in ("after", "before", "issuer", "actor_token_id", "source"):
            batch_op.drop_column(column)
        batch_op.alter_column("subject_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column(
            "role",
            existing_type=sa.String(length=40),
            type_=_enum(OLD_ROLES, "role"),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "action",
            existing_type=_enum(ACTIONS, "policy_audit_action"),
            type_=_enum(OLD_ACTIONS, "policy_audit_action"),
            existing_nullable=False,
        )
    op.drop_table("token_reach")
    _drop_reference("tokens", "issued_by_subject_id", "subjects")
    for column in ("limited", "issued_by"):
        _drop_plain("tokens", column)
    op.drop_index("uq_subjects_name_key", table_name="subjects")
    _drop_plain("subjects", "name_key")
    grants = sa.table("grants", sa.column("role", sa.String()))
    op.execute(grants.delete().where(grants.c.role.notin_(OLD_ROLES)))
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_grants_role_roles"), type_="foreignkey")
        batch_op.alter_column(
            "role",
            existing_type=sa.String(length=40),
            type_=_enum(OLD_ROLES, "role"),
            existing_nullable=False,
        )
    rules = sa.table("casbin_rules", sa.column("v0", sa.String()), sa.column("v2", sa.String()))
    op.execute(rules.delete().where(rules.c.v0.notin_(OLD_ROLES)))
    op.execute(rules.delete().where(rules.c.v2 == "roles"))
    op.drop_table("roles")
