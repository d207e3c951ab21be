"""How many subscriptions each caller runs at once in this process."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from core.errors import ErrorCode, QuhuaError


class SubscriptionSlots:
    """At most `limit` subscriptions running at once for each subject in this process.

    Each running subscription polls the database on its own, so a caller that opened them
    without end would take the server's connections and time from everyone else; over
    its limit it is told so (RATE_LIMITED) and its other subscriptions go on.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running: Counter[int] = Counter()

    @contextmanager
    def taken(self, subject_id: int) -> Iterator[None]:
        if self._running[subject_id] >= self.limit:
            raise QuhuaError(
                f"At most {self.limit} subscriptions run at once for each caller: "
                "complete one before subscribing again",
                code=ErrorCode.RATE_LIMITED,
            )
        self._running[subject_id] += 1
        try:
            yield
        finally:
            self._running[subject_id] -= 1
            if not self._running[subject_id]:
                del self._running[subject_id]
