"""Mutations start a writing transaction before they read anything; each transport runs
only the operations it can end: HTTP no subscriptions, a WebSocket only subscriptions."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from core.errors import ErrorCode
from resolvers.context import Context

# A query or mutation over a socket would run in the socket's session, which no request
# boundary commits or rolls back: it would hold its transaction (and its locks) for as long
# as the socket stays, and its writes would be lost.
OVER_SOCKET = "Over a WebSocket only subscriptions run: send queries and mutations over HTTP"
OVER_HTTP = "Subscriptions run over a WebSocket (graphql-transport-ws) at /graphql, not HTTP"


def _refusal(context: Context, operation: OperationType) -> str | None:
    subscription = operation is OperationType.SUBSCRIPTION
    if context.socket and not subscription:
        return OVER_SOCKET
    if subscription and not context.socket:
        return OVER_HTTP
    return None


class WritingTransaction(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if isinstance(context, Context):
            refused = _refusal(context, execution.operation_type)
            if refused is not None:
                raise GraphQLError(refused, extensions={"code": ErrorCode.BAD_REQUEST.value})
            if execution.operation_type is OperationType.MUTATION:
                await context.session.begin_writing()
        yield
