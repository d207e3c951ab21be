"""The console's session: an HMAC-signed cookie carrying the viewer's Quhua token.

No table holds open console sessions: the cookie is the session (only ended ones are
recorded, authz.ended_sessions, so that sign-out outlives a copied cookie). It carries a
random nonce (the session's identity, which the CSRF token is bound to), the bearer token
once signed in (None before), and when it was issued. It is HttpOnly (no script reads the
token), SameSite=Strict and Secure over https. Signing keeps a visitor from forging a
nonce whose CSRF token they could compute; the token itself is checked on every request
by the same Authenticator as GraphQL's, so a revoked or expired token ends the session at
once.
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

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "quhua_console"
# A console session lasts a working day at most; the token's own expiry may end it sooner.
MAX_AGE_SECONDS = 12 * 60 * 60
_NONCE_BYTES = 16


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

    def new(self, token: str | None = None) -> ConsoleSession:
        """A fresh session: a new nonce, so a signed-in session never reuses a visitor's."""
        return ConsoleSession(secrets.token_urlsafe(_NONCE_BYTES), token, int(time.time()))

    def read(self, request: Request) -> ConsoleSession | None:
        """The request's session, or None if it has none, a forged one or an expired one."""
        raw = request.cookies.get(COOKIE)
        if not raw or "." not in raw:
            return None
        payload, signature = raw.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign("session", payload)):
            return None
        try:
            fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            session = ConsoleSession(str(fields["n"]), fields["t"], int(fields["i"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if not (session.token is None or isinstance(session.token, str)):
            return None
        if time.time() - session.issued_at > MAX_AGE_SECONDS:
            return None
        return session

    def store(self, response: Response, request: Request, session: ConsoleSession) -> None:
        """Set the session's cookie on the response."""
        fields = {"n": session.nonce, "t": session.token, "i": session.issued_at}
        payload = _encode(json.dumps(fields).encode())
        response.set_cookie(
            COOKIE,
            f"{payload}.{self._sign('session', payload)}",
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
        # The purpose keeps a session's signature from serving as a CSRF token, and back.
        return _encode(
            hmac.new(self._secret, f"{purpose}:{text}".encode(), hashlib.sha256).digest()
        )


def _encode(data: bytes) -> str:
    # Unpadded url-safe base64: no character that a cookie's value would need quoted for.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
