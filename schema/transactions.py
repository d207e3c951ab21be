"""Mutations start a writing transaction before they read anything."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from resolvers.context import Context


class WritingTransaction(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if execution.operation_type is OperationType.MUTATION and isinstance(context, Context):
            await context.session.begin_writing()
        yield
