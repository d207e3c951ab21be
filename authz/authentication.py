"""Bearer tokens to principals, cached per process until the policy version moves."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from authz import repository
from authz.enforcer import RolePolicy
from authz.models import Subject, Token
from authz.principal import Principal
from authz.scope import UNAUTHENTICATED_MESSAGE
from authz.tokens import bearer_token, token_hash
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

    def __init__(self, *, cache_size: int = 10_000, record_use_every: float = 60.0) -> None:
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
        token = bearer_token(authorization)
        if token is None:
            raise Unauthenticated(INVALID_TOKEN)
        key = token_hash(token)
        now = utc_now()
        principal = self._principals.get(key)
        if principal is None:
            principal = await self._load(session, key, now)
        elif principal.token_expires_at is not None and principal.token_expires_at <= now:
            del self._principals[key]
            raise Unauthenticated(INVALID_TOKEN)
        else:
            self._principals.move_to_end(key)
        self._note_use(principal.token_id, now)
        return principal

    async def _load(self, session: RequestSession, key: str, now: dt.datetime) -> Principal:
        if self.policy is None:
            await self.refresh(session)
        assert self.policy is not None
        found = await repository.token_owner(session, key, now)
        if found is None:
            raise Unauthenticated(INVALID_TOKEN)
        token, subject = found
        principal = await principal_of(session, token, subject, self.policy)
        self._principals[key] = principal
        if len(self._principals) > self._cache_size:
            self._principals.popitem(last=False)
        return principal

    def _note_use(self, token_id: int, now: dt.datetime) -> None:
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


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; every time stored here is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


__all__ = ["UNAUTHENTICATED_MESSAGE", "Authenticator"]
