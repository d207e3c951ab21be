"""The identity provider's signing keys, from its JWKS URL or a JWKS file, cached by key id.

The set is read again when it is older than its lifespan, or when a token names a key id it
does not hold (the provider rotated its keys), but never more often than the refetch floor:
a stream of tokens with made-up key ids costs one fetch per floor, not one per request.
When a fetch fails the keys already held stay in use, so a provider's outage does not sign
out callers whose keys are known.

Only keys for the configured asymmetric algorithms are kept: a symmetric (`oct`) key in the
set, or one for an algorithm not configured, is never used to check a signature.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWTError

logger = logging.getLogger("quhua.oidc")

JwksLoader = Callable[[], Awaitable[dict[str, Any]]]


def url_loader(url: str, *, timeout_seconds: float = 10.0) -> JwksLoader:
    """Fetch the set over HTTP(S) in a worker thread (PyJWT's client: no redirects, http(s)
    only), so the event loop never waits on the provider."""
    client = PyJWKClient(url, cache_jwk_set=False, timeout=timeout_seconds)

    async def load() -> dict[str, Any]:
        data: dict[str, Any] = await asyncio.to_thread(client.fetch_data)
        return data

    return load


def file_loader(path: Path) -> JwksLoader:
    """Read the set from a file, again on every refetch: an operator rotates keys by
    replacing the file."""

    def read() -> dict[str, Any]:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a JWKS file holds a JSON object with `keys`")
        return data

    async def load() -> dict[str, Any]:
        return await asyncio.to_thread(read)

    return load


class KeySet:
    """Signing keys by key id, for one process; safe for concurrent requests."""

    def __init__(
        self,
        load: JwksLoader,
        *,
        algorithms: Collection[str],
        lifespan_seconds: float,
        refetch_floor_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._algorithms = frozenset(algorithms)
        self._lifespan = lifespan_seconds
        self._floor = refetch_floor_seconds
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> PyJWK | None:
        """The key with this id, fetching the set first if it is stale or lacks the id."""
        if self._wants_fetch(kid):
            async with self._lock:
                # Another request may have fetched while this one waited for the lock.
                if self._wants_fetch(kid):
                    await self._fetch()
        return self._keys.get(kid)

    def _wants_fetch(self, kid: str) -> bool:
        now = self._clock()
        if self._tried_at is not None and now - self._tried_at < self._floor:
            return False
        if self._fetched_at is None or now - self._fetched_at >= self._lifespan:
            return True
        return kid not in self._keys

    async def _fetch(self) -> None:
        self._tried_at = self._clock()
        self.fetches += 1
        try:
            data = await self._load()
            keys = usable_keys(PyJWKSet.from_dict(data), self._algorithms)
        except (PyJWTError, OSError, ValueError) as error:
            logger.warning("the identity provider's keys could not be read: %s", error)
            return
        self._keys = keys
        self._fetched_at = self._tried_at


def usable_keys(key_set: PyJWKSet, algorithms: frozenset[str]) -> dict[str, PyJWK]:
    """Signing keys with an id whose algorithm is one of those configured."""
    return {
        key.key_id: key
        for key in key_set.keys
        if key.key_id and key.public_key_use in ("sig", None) and key.algorithm_name in algorithms
    }
