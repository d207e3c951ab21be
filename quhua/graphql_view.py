"""The GraphQL endpoint: one session per request, committed at the request boundary."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from quhua.db.session import RequestSession
from resolvers.context import Context
from schema.errors import format_error

_SESSION = "quhua.session"


class QuhuaGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Schema,
        *,
        sessions: async_sessionmaker[AsyncSession],
        graphiql: bool,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            subscription_protocols=(),
        )
        self._sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self._sessions() as session:
            scope[_SESSION] = RequestSession(session)
            await super().__call__(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context.for_request(request.scope[_SESSION])

    async def execute_operation(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        result = await super().execute_operation(request, *args, **kwargs)
        results = result if isinstance(result, list) else [result]
        session: RequestSession = request.scope[_SESSION]
        # A request commits whole or not at all: one error anywhere undoes its writes.
        if any(not isinstance(r, ExecutionResult) or r.errors for r in results):
            await session.rollback()
        else:
            await session.commit()
        return result

    def encode_json(self, data: object) -> str:
        # Names are Chinese: send them as UTF-8, not as \u escapes three times the size.
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            response["errors"] = [format_error(error) for error in result.errors]
        if result.extensions:
            response["extensions"] = result.extensions
        return response
