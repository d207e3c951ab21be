"""The request's DataLoaders: one batch per tick, and callers that may be cancelled alone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from opentelemetry import trace
from strawberry.dataloader import DataLoader

from core.spans import child_span

K = TypeVar("K")
T = TypeVar("T")

_tracer = trace.get_tracer("quhua.resolvers")
BATCH_KEYS = "quhua.dataloader.keys"


class Loader(DataLoader[K, T]):
    """A DataLoader whose callers each await their own view of the shared result, and whose
    every batch is a span (named for the loader's class, with its number of keys).

    Fields asking for the same key share one future. GraphQL cancels a field when a sibling
    fails; cancelling a task cancels the future it awaits, so without the shield every other
    field waiting for that key would end with CancelledError, and the request with it.
    """

    def __init__(self, load_fn: Callable[[list[K]], Awaitable[Sequence[T]]]) -> None:
        name = f"dataloader {type(self).__name__}"

        async def batch(keys: list[K]) -> Sequence[T]:
            with child_span(_tracer, name, {BATCH_KEYS: len(keys)}):
                return await load_fn(keys)

        super().__init__(load_fn=batch)

    def load(self, key: K) -> Awaitable[T]:
        return asyncio.shield(super().load(key))
