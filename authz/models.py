"""Who may do what: subjects, their tokens, their grants, the role policy and its audit."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from core.db.base import Base, string_enum


class SubjectKind(StrEnum):
    PERSON = "person"
    SERVICE = "service"


class AuditSource(StrEnum):
    """Where an act came in: the API, the command line, a file imported, the system itself."""

    API = "api"
    CLI = "cli"
    IMPORT = "import"
    SYSTEM = "system"


UtcDateTime = DateTime(timezone=True)


class Subject(Base):
    """A person or a service (a provincial system, a partner front end) that calls the API."""

    __tablename__ = "subjects"
    __table_args__ = (Index("uq_subjects_name_key", "name_key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # The name's identity (NFKC, case-folded): two names with one key are one subject.
    # Always set; nullable only because SQLite adds a NOT NULL column to a table others
    # refer to by copying the table.
    name_key: Mapped[str] = mapped_column(String(100), nullable=True)
    kind: Mapped[SubjectKind] = mapped_column(string_enum(SubjectKind, "subject_kind"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Token(Base):
    """An opaque bearer token, stored only as its SHA-256 hash."""

    __tablename__ = "tokens"
    __table_args__ = (Index("ix_tokens_subject_id", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, to tell tokens apart in listings.
    prefix: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    # Who issued it, when not its subject through the API: an administrator, or cli:USER.
    issued_by_subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("subjects.id"), default=None
    )
    issued_by: Mapped[str | None] = mapped_column(String(100), default=None)
    # A limited token reaches only what its TokenReach rows list (and its subject holds).
    limited: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class TokenReach(Base):
    """What a limited token may reach: the actions its issuer held in a subtree at issue."""

    __tablename__ = "token_reach"

    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id"), primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), primary_key=True)
    # Action names, space-separated (authz.roles.Action).
    actions: Mapped[str] = mapped_column(String(400))


class RoleRow(Base):
    """A role: built in, or defined by an administrator at the top of a tree (or the CLI).

    What it permits and includes are Casbin rules; this row names it and says where it
    may be granted (the subtree of its unit, or anywhere when the unit is None).
    """

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    builtin: Mapped[bool] = mapped_column(Boolean)
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)


class Grant(Base):
    """A role held by a subject at a jurisdiction, covering its whole subtree."""

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("subject_id", "role", "jurisdiction_id", name="subject_role_unit"),
        Index("ix_grants_jurisdiction_id", "jurisdiction_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    role: Mapped[str] = mapped_column(ForeignKey("roles.code"))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"))
    granted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CasbinRule(Base):
    """The role policy in Casbin's own shape: `p, role, domain, object, act` and `g, role, role`."""

    __tablename__ = "casbin_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ptype: Mapped[str] = mapped_column(String(10))
    v0: Mapped[str] = mapped_column(String(100))
    v1: Mapped[str] = mapped_column(String(100))
    v2: Mapped[str | None] = mapped_column(String(100), default=None)
    v3: Mapped[str | None] = mapped_column(String(100), default=None)


class PolicyState(Base):
    """One row: a counter bumped by every change to grants, tokens or the role policy.

    Server processes poll it and drop what they cached when it moves.
    """

    __tablename__ = "policy_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class PolicyAuditAction(StrEnum):
    GRANT = "grant"
    REVOKE = "revoke"
    TOKEN_CREATE = "token_create"  # noqa: S105 - an audit verb, not a secret
    TOKEN_REVOKE = "token_revoke"  # noqa: S105
    ROLE_DEFINE = "role_define"
    ROLE_UPDATE = "role_update"
    ROLE_RETIRE = "role_retire"


class PolicyAudit(Base):
    """Every change to who may do what: who did it, when, to whom, where, and why."""

    __tablename__ = "policy_audit"
    __table_args__ = (Index("ix_policy_audit_jurisdiction_id_id", "jurisdiction_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # The subject who acted through the API, or None with actor naming the CLI user.
    actor_subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[PolicyAuditAction] = mapped_column(
        string_enum(PolicyAuditAction, "policy_audit_action")
    )
    source: Mapped[AuditSource] = mapped_column(string_enum(AuditSource, "audit_source", length=10))
    # The token the actor used, and who issued it when that was not the actor.
    actor_token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"), default=None)
    issuer: Mapped[str | None] = mapped_column(String(100), default=None)
    # Whose grant or token changed; None for a change to a role.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    role: Mapped[str | None] = mapped_column(String(40), default=None)
    # Where the change applies; None for a token change made from the CLI, or a role
    # defined for every tree.
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    # A role change: the role as it was and as it became (JSON).
    before: Mapped[str | None] = mapped_column(Text, default=None)
    after: Mapped[str | None] = mapped_column(Text, default=None)


class EndedSession(Base):
    """A console session signed out before its cookie expired, by the SHA-256 of its nonce.

    The cookie is the session, so a copy taken before sign-out would otherwise stay valid
    until it expires: its row refuses it until then (`until`, the cookie's own end), and
    is deleted after.
    """

    __tablename__ = "ended_sessions"
    __table_args__ = (Index("ix_ended_sessions_until", "until"),)

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[dt.datetime] = mapped_column(UtcDateTime)
