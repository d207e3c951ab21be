"""Who may do what: subjects, their tokens, their grants, the role policy and its audit."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from authz.roles import Role
from core.db.base import Base, string_enum


class SubjectKind(StrEnum):
    PERSON = "person"
    SERVICE = "service"


UtcDateTime = DateTime(timezone=True)


class Subject(Base):
    """A person or a service (a provincial system, a partner front end) that calls the API."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
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


class Grant(Base):
    """A role held by a subject at a jurisdiction, covering its whole subtree."""

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("subject_id", "role", "jurisdiction_id", name="subject_role_unit"),
        Index("ix_grants_jurisdiction_id", "jurisdiction_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    role: Mapped[Role] = mapped_column(string_enum(Role, "role"))
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
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    role: Mapped[Role | None] = mapped_column(string_enum(Role, "role"), default=None)
    # Where the change applies; None for a token change made from the CLI.
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
