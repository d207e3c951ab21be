"""The GraphQL endpoint: one session per request, committed at the request boundary."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from authz.authentication import Authenticator
from quhua.db.session import RequestSession
from quhua.errors import ErrorCode, Unauthenticated
from resolvers.context import Context
from schema.errors import format_error

_SESSION = "quhua.session"
_PRINCIPAL = "quhua.principal"


class QuhuaGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Schema,
        *,
        sessions: async_sessionmaker[AsyncSession],
        authenticator: Authenticator,
        graphiql: bool,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            subscription_protocols=(),
        )
        self._sessions = sessions
        self._authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self._sessions() as session:
            request_session = RequestSession(session)
            try:
                await self._serve(request_session, scope, receive, send)
            finally:
                await request_session.settle()

    async def _serve(
        self, request_session: RequestSession, scope: Scope, receive: Receive, send: Send
    ) -> None:
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        try:
            principal = await self._authenticator.authenticate(request_session, authorization)
        except Unauthenticated as error:
            await _refuse(error)(scope, receive, send)
            return
        scope[_SESSION] = request_session
        scope[_PRINCIPAL] = principal
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return Context(session=request.scope[_SESSION], principal=request.scope[_PRINCIPAL])

    async def execute_operation(  # noqa: PLR0917 - strawberry's signature
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: None,
        sub_response: Any,
    ) -> Any:
        if isinstance(request_data, list):
            # One after the other: a batch is one transaction, and its operations may build
            # on each other's writes.
            result: Any = [
                await self.execute_single(
                    request=request,
                    request_adapter=request_adapter,
                    sub_response=sub_response,
                    context=context,
                    root_value=root_value,
                    request_data=data,
                )
                for data in request_data
            ]
        else:
            result = await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        results = result if isinstance(result, list) else [result]
        session: RequestSession = request.scope[_SESSION]
        # A request commits whole or not at all: one error anywhere undoes its writes.
        if any(not isinstance(r, ExecutionResult) or r.errors for r in results):
            await session.rollback()
        elif session.wrote:
            await session.commit()
            # This process sees its own policy changes at once; others within a poll.
            await self._authenticator.refresh(session)
            await session.rollback()
        return result

    def encode_json(self, data: object) -> str:
        # Names are Chinese: send them as UTF-8, not as \\u escapes three times the size.
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


def _refuse(error: Unauthenticated) -> JSONResponse:
    body = {
        "errors": [{"message": error.message, "extensions": {"code": ErrorCode.UNAUTHENTICATED}}]
    }
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})
