"""Opaque bearer tokens: random, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "qh_"
_SHAPE = re.compile(r"^qh_[A-Za-z0-9_-]{43}$")
SHOWN_PREFIX_LENGTH = 10


def new_token() -> str:
    """A fresh token: 256 random bits."""
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256, hex. Tokens carry 256 random bits, so a fast hash cannot be brute-forced."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def shown_prefix(token: str) -> str:
    return token[:SHOWN_PREFIX_LENGTH]


def bearer_credential(authorization: str | None) -> str | None:
    """What follows `Bearer` in an `Authorization` header; None for any other scheme."""
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credential.strip()


def bearer_token(authorization: str | None) -> str | None:
    """The Quhua token of an `Authorization: Bearer …` header; None when absent or malformed.

    A Quhua token never holds a dot and a JWT always holds two, so the two never mix up.
    """
    token = bearer_credential(authorization)
    if token is None or not _SHAPE.match(token):
        return None
    return token
