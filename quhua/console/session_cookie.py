"""The console's session: a sealed cookie carrying the viewer's Quhua token.

No table holds open console sessions: the cookie is the session (only ended ones are
recorded, authz.ended_sessions, so that sign-out outlives a copied cookie). It carries a
random nonce (the session's identity, which the CSRF token is bound to), the bearer token
once signed in (None before), and when it was issued, sealed with AES-GCM under a key
derived from the console secret: whoever copies the cookie can neither read the token in
it nor forge one, and once the session is signed out the copy opens nothing. It is
HttpOnly (no script reads it), SameSite=Strict and Secure over https. The token itself is
checked on every request by the same Authenticator as GraphQL's, so a revoked or expired
token ends the session at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "quhua_console"
# A console session lasts a working day at most; the token's own expiry may end it sooner.
MAX_AGE_SECONDS = 12 * 60 * 60
_NONCE_BYTES = 16
# AES-GCM's nonce: random for each cookie written (2^-32 collision risk only after 2^32
# cookies under one key).
_SEAL_NONCE_BYTES = 12
# Bound into every sealed cookie: a blob sealed for another purpose does not open here.
_SEALED_FOR = b"quhua console session"


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    nonce: str
    token: str | None
    issued_at: int

    @property
    def signed_in(self) -> bool:
        return self.token is not None


class SessionCookies:
    """Makes, reads and checks session cookies and their CSRF tokens with one key."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        # A key of its own for sealing, so that the CSRF tokens' HMAC key seals nothing.
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEALED_FOR).derive(secret)
        self._seal = AESGCM(key)

    def new(self, token: str | None = None) -> ConsoleSession:
        """A fresh session: a new nonce, so a signed-in session never reuses a visitor's."""
        return ConsoleSession(secrets.token_urlsafe(_NONCE_BYTES), token, int(time.time()))

    def read(self, request: Request) -> ConsoleSession | None:
        """The request's session, or None if it has none, a forged one or an expired one."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            nonce, sealed = blob[:_SEAL_NONCE_BYTES], blob[_SEAL_NONCE_BYTES:]
            fields = json.loads(self._seal.decrypt(nonce, sealed, _SEALED_FOR))
            session = ConsoleSession(str(fields["n"]), fields["t"], int(fields["i"]))
        except (ValueError, KeyError, TypeError, binascii.Error, InvalidTag):
            return None
        if not (session.token is None or isinstance(session.token, str)):
            return None
        if time.time() - session.issued_at > MAX_AGE_SECONDS:
            return None
        return session

    def store(self, response: Response, request: Request, session: ConsoleSession) -> None:
        """Set the session's cookie on the response."""
        fields = {"n": session.nonce, "t": session.token, "i": session.issued_at}
        nonce = secrets.token_bytes(_SEAL_NONCE_BYTES)
        sealed = self._seal.encrypt(nonce, json.dumps(fields).encode(), _SEALED_FOR)
        response.set_cookie(
            COOKIE,
            _encode(nonce + sealed),
            max_age=MAX_AGE_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def csrf_token(self, session: ConsoleSession) -> str:
        """The token every form of this session posts back."""
        return self._sign("csrf", session.nonce)

    def csrf_ok(self, session: ConsoleSession | None, given: object) -> bool:
        """Whether a posted CSRF token is this session's."""
        if session is None or not isinstance(given, str) or not given:
            return False
        return hmac.compare_digest(given, self.csrf_token(session))

    def _sign(self, purpose: str, text: str) -> str:
        # The purpose binds the HMAC to what it signs (a CSRF token of a session nonce).
        return _encode(
            hmac.new(self._secret, f"{purpose}:{text}".encode(), hashlib.sha256).digest()
        )


def _encode(data: bytes) -> str:
    # Unpadded url-safe base64: no character that a cookie's value would need quoted for.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
