"""The request's DataLoaders: one batch per tick, and callers that may be cancelled alone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from strawberry.dataloader import DataLoader

K = TypeVar("K")
T = TypeVar("T")


class Loader(DataLoader[K, T]):
    """A DataLoader whose callers each await their own view of the shared result.

    Fields asking for the same key share one future. GraphQL cancels a field when a sibling
    fails; cancelling a task cancels the future it awaits, so without the shield every other
    field waiting for that key would end with CancelledError, and the request with it.
    """

    def load(self, key: K) -> Awaitable[T]:
        return asyncio.shield(super().load(key))
