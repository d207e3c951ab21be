"""Bearer tokens to principals, cached per process until the policy version moves.

Two kinds of bearer credential: Quhua's own tokens (authz.tokens, `qh_` and no dot) and,
when single sign-on is configured, the identity provider's JWTs (authz.oidc, three dotted
segments). A JWT names a subject that must already exist in Quhua: an unknown subject is
refused like a bad token (Quhua creates nobody from a token; the operator grants first), and
a known one with no grants is signed in and sees nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from authz import repository
from authz.enforcer import RolePolicy
from authz.models import Subject, Token
from authz.oidc import OidcRefused, OidcVerifier, looks_like_jwt
from authz.principal import Principal
from authz.scope import UNAUTHENTICATED_MESSAGE
from authz.tokens import bearer_credential, bearer_token, token_hash
from core.db.session import RequestSession
from core.errors import Unauthenticated

# One message for every way a token fails, so that a caller learns nothing from it.
INVALID_TOKEN = "Invalid or expired credentials"  # noqa: S105 - a message, not a secret


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Authenticator:
    """Per server process: the role policy, and principals of recently used tokens.

    Both are dropped when the policy version in the database moves (any change to grants,
    tokens or the role policy bumps it), which `refresh` checks; the server calls it on a
    short period and after each of its own writes. A cached principal costs a hash and a
    dictionary lookup per request; a miss costs two indexed queries on the caller's token
    and grants. Nothing here grows with grants held by other subjects.
    """

    def __init__(
        self,
        *,
        cache_size: int = 10_000,
        record_use_every: float = 60.0,
        oidc: OidcVerifier | None = None,
    ) -> None:
        self.oidc = oidc
        self.version: int | None = None
        self.policy: RolePolicy | None = None
        self._cache_size = cache_size
        self._record_every = dt.timedelta(seconds=record_use_every)
        self._principals: OrderedDict[str, Principal] = OrderedDict()
        self._recorded: dict[int, dt.datetime] = {}
        self._pending_use: dict[int, dt.datetime] = {}

    async def refresh(self, session: RequestSession) -> bool:
        """Reload the role policy and forget every principal if the version moved."""
        version = await repository.policy_version(session)
        if version == self.version and self.policy is not None:
            return False
        self.policy = RolePolicy(await repository.role_rules(session))
        self._principals.clear()
        self.version = version
        return True

    async def authenticate(
        self, session: RequestSession, authorization: str | None
    ) -> Principal | None:
        """The caller; None without credentials; Unauthenticated for bad credentials."""
        if authorization is None or not authorization.strip():
            return None
        token = bearer_token(authorization) or self._jwt_of(authorization)
        if token is None:
            raise Unauthenticated(INVALID_TOKEN)
        key = token_hash(token)
        now = utc_now()
        principal = self._principals.get(key)
        if principal is None:
            if looks_like_jwt(token):
                principal = await self._load_jwt(session, key, token)
            else:
                principal = await self._load(session, key, now)
        elif principal.token_expires_at is not None and principal.token_expires_at <= now:
            del self._principals[key]
            raise Unauthenticated(INVALID_TOKEN)
        else:
            self._principals.move_to_end(key)
        self._note_use(principal.token_id, now)
        return principal

    def _jwt_of(self, authorization: str) -> str | None:
        credential = bearer_credential(authorization)
        if self.oidc is None or credential is None or not looks_like_jwt(credential):
            return None
        return credential

    async def _policy(self, session: RequestSession) -> RolePolicy:
        if self.policy is None:
            await self.refresh(session)
        assert self.policy is not None
        return self.policy

    async def _load(self, session: RequestSession, key: str, now: dt.datetime) -> Principal:
        policy = await self._policy(session)
        found = await repository.token_owner(session, key, now)
        if found is None:
            raise Unauthenticated(INVALID_TOKEN)
        token, subject = found
        return self._remember(key, await principal_of(session, token, subject, policy))

    async def _load_jwt(self, session: RequestSession, key: str, token: str) -> Principal:
        assert self.oidc is not None
        policy = await self._policy(session)
        try:
            identity = await self.oidc.identify(token)
        except OidcRefused as error:
            raise Unauthenticated(INVALID_TOKEN) from error
        subject = await repository.subject_by_name(session, identity.subject)
        if subject is None:
            raise Unauthenticated(INVALID_TOKEN)
        return self._remember(
            key, await signed_in_principal(session, subject, identity.expires_at, policy)
        )

    def _remember(self, key: str, principal: Principal) -> Principal:
        self._principals[key] = principal
        if len(self._principals) > self._cache_size:
            self._principals.popitem(last=False)
        return principal

    def _note_use(self, token_id: int | None, now: dt.datetime) -> None:
        if token_id is None:
            return
        last = self._recorded.get(token_id)
        if last is None or now - last >= self._record_every:
            self._recorded[token_id] = now
            self._pending_use[token_id] = now
            if len(self._recorded) > self._cache_size:
                self._recorded.clear()

    @property
    def has_pending_usage(self) -> bool:
        return bool(self._pending_use)

    async def flush_usage(self, session: RequestSession) -> int:
        """Write the last-used times noted since the previous flush; the caller commits."""
        pending, self._pending_use = self._pending_use, {}
        if pending:
            await repository.record_token_use(session, pending)
        return len(pending)


async def principal_of(
    session: RequestSession, token: Token, subject: Subject, policy: RolePolicy
) -> Principal:
    """The principal of a live token, as the database says now."""
    return Principal(
        subject_id=subject.id,
        name=subject.name,
        kind=subject.kind,
        token_id=token.id,
        token_expires_at=_aware(token.expires_at),
        grants=await repository.held_grants(session, subject.id),
        policy=policy,
        reach=await repository.token_reach(session, token.id) if token.limited else None,
        issued_by=token.issued_by if token.issued_by_subject_id != subject.id else None,
    )


async def signed_in_principal(
    session: RequestSession, subject: Subject, expires_at: dt.datetime, policy: RolePolicy
) -> Principal:
    """The principal of a subject signed in with the identity provider's JWT: no Quhua
    token, so nothing limits it below its grants, and it lasts until the JWT expires."""
    return Principal(
        subject_id=subject.id,
        name=subject.name,
        kind=subject.kind,
        token_id=None,
        token_expires_at=expires_at,
        grants=await repository.held_grants(session, subject.id),
        policy=policy,
    )


async def fresh_signed_in(
    session: RequestSession, principal: Principal, policy: RolePolicy
) -> Principal:
    """A signed-in principal as the database says now; UNAUTHENTICATED once its JWT expired."""
    subject = await repository.subject_by_name(session, principal.name)
    expires_at = principal.token_expires_at
    if subject is None or expires_at is None or expires_at <= utc_now():
        raise Unauthenticated(INVALID_TOKEN)
    return await signed_in_principal(session, subject, expires_at, policy)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; every time stored here is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


__all__ = ["UNAUTHENTICATED_MESSAGE", "Authenticator"]
