"""GraphQL for the console: the public schema executed in-process, as the viewer.

The Context is the one the HTTP door builds (quhua/http_door.py): the same session, the
same authenticated principal, the same scope checks in the resolvers. A page asks a few
operations and counts them (`operations`), which its Server-Timing header reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from resolvers.context import Context
from schema.errors import format_error
from schema.root import schema


@dataclass(frozen=True, slots=True)
class Problem:
    """One GraphQL error as callers see it: the code, the message, the field's path."""

    code: str
    message: str
    path: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    data: dict[str, Any]
    problems: list[Problem]


@dataclass(slots=True)
class Gateway:
    context: Context
    operations: int = 0
    seconds: float = 0.0

    async def run(self, document: str, **variables: Any) -> Answer:
        """Execute one operation; its data (what resolved) and its errors, formatted."""
        self.operations += 1
        started = time.perf_counter()
        result = await schema.execute(
            document, variable_values=variables, context_value=self.context
        )
        self.seconds += time.perf_counter() - started
        if document.lstrip().startswith("mutation"):
            # What the loaders hold predates the writes: the page reads afresh after them.
            self.context.forget()
        problems = []
        for error in result.errors or []:
            formatted = format_error(error)
            problems.append(
                Problem(
                    code=str(formatted["extensions"]["code"]),
                    message=str(formatted["message"]),
                    path=tuple(formatted.get("path") or ()),
                )
            )
        return Answer(data=dict(result.data or {}), problems=problems)

    def server_timing(self) -> str:
        """The Server-Timing header's entry: how many operations, how long they took."""
        return f'graphql;dur={self.seconds * 1000:.1f};desc="{self.operations} operations"'
