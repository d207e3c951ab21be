"""The GraphQL endpoint: one session per request, committed at the request boundary."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from authz.authentication import Authenticator
from core.db.outage import database_unavailable
from core.db.replicas import ReadReplicas
from core.db.session import RequestSession
from core.errors import ErrorCode, Unauthenticated
from quhua.graphiql import graphiql_page
from quhua.media_types import (
    ANSWERED,
    CONTENT_TYPES,
    GRAPHQL_RESPONSE,
    JSON,
    graphql_response_status,
    negotiate,
)
from quhua.persisted_queries import PersistedQueries, PersistedQueryRefused
from quhua.replica_reads import database_failure, reads_only
from quhua.request_checks import (
    BadRequest,
    decode_json,
    decode_text,
    echo,
    media_type,
    refusal,
    request_data,
)
from resolvers.context import Context
from resolvers.feed.live import COMMITS
from resolvers.feed.slots import SubscriptionSlots
from schema.errors import format_error
from schema.limits import introspection
from schema.telemetry import count_errors

logger = logging.getLogger("quhua.graphql")

_SESSION = "quhua.session"
_AUTHORIZATION = "quhua.authorization"
# connection_ack with no payload.
_ACK: UnsetType = UNSET
_PRINCIPAL = "quhua.principal"


class QuhuaGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Schema,
        *,
        sessions: async_sessionmaker[AsyncSession],
        authenticator: Authenticator,
        graphiql: bool,
        persisted: PersistedQueries,
        replicas: ReadReplicas,
        subscription_slots: SubscriptionSlots,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            # Only graphql-transport-ws: the legacy graphql-ws protocol lets a client subscribe
            # before connection_init (GHSA-vpwc-v33q-mq89).
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self._sessions = sessions
        self._authenticator = authenticator
        self._persisted = persisted
        self._replicas = replicas
        self._subscription_slots = subscription_slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self._sessions() as session:
            request_session = RequestSession(session)
            try:
                with introspection(self._persisted.introspection):
                    await self._serve(request_session, scope, receive, send)
            finally:
                await request_session.end()

    async def _serve(
        self, request_session: RequestSession, scope: Scope, receive: Receive, send: Send
    ) -> None:
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        # Refusals answer in the type the caller accepts; one accepting neither, in JSON.
        answer_type = negotiate(_accept(headers)) or JSON
        try:
            principal = await self._authenticator.authenticate(request_session, authorization)
        except Unauthenticated as error:
            await _refuse(error, answer_type)(scope, receive, send)
            return
        scope[_SESSION] = request_session
        scope[_PRINCIPAL] = principal
        scope[_AUTHORIZATION] = authorization
        if scope["type"] != "http":
            # A socket may stay for days: it holds no transaction (each subscription's page
            # opens its own, quhua.graphql_view.QuhuaGraphQL.page_context).
            await request_session.rollback()
            await super().__call__(scope, receive, send)
            return
        response: Response
        try:
            response = await self.run(Request(scope, receive))
        except BadRequest as error:
            response = refusal(error.message, status=error.status, answer_type=answer_type)
        except PersistedQueryRefused as error:
            response = error.response()
        except HTTPException as error:
            # Strawberry's own refusals (a mutation over GET, ...) answer in the same shape;
            # strawberry would answer them in plain text.
            response = refusal(error.reason, status=error.status_code, answer_type=answer_type)
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(session=request.scope[_SESSION], principal=request.scope[_PRINCIPAL])
        if isinstance(request, WebSocket):
            context.socket = True
            context.authorization = request.scope[_AUTHORIZATION]
            context.page_context = lambda: self.page_context(context.authorization)
            context.subscription_slots = self._subscription_slots
        return context

    @asynccontextmanager
    async def page_context(self, authorization: str | None) -> AsyncIterator[Context]:
        """A context for one page of a subscription: its own session, ended (rolled back)
        after the page; the caller authenticated again, UNAUTHENTICATED once the token is
        revoked or expired."""
        async with self._sessions() as session:
            request_session = RequestSession(session)
            try:
                # Grants and tokens as they are now, not as the last poll found them.
                await self._authenticator.refresh(request_session)
                principal = await self._authenticator.authenticate(request_session, authorization)
                yield Context(session=request_session, principal=principal, socket=True)
            finally:
                # Closing the AsyncSession then rolls the page's transaction back.
                await request_session.end()

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """A token in the connection_init payload (`{"Authorization": "Bearer …"}`), checked
        as a header's would be; a bad one closes the connection (4403)."""
        params = context.connection_params or {}
        authorization = params.get("Authorization", params.get("authorization"))
        if authorization is None:
            return _ACK
        if not isinstance(authorization, str):
            raise ConnectionRejectionError({"message": "Authorization must be a string"})
        try:
            context.principal = await self._authenticator.authenticate(
                context.session, authorization
            )
        except Unauthenticated as error:
            raise ConnectionRejectionError({"message": error.message}) from None
        finally:
            await context.session.rollback()
        context.authorization = authorization
        return _ACK

    def parse_json(self, data: str | bytes) -> Any:
        return decode_json(data)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The request's operations, checked whole before any runs (quhua/request_checks.py).

        Strawberry's own parsing reads fields of whatever JSON arrives and fails with a 500 on
        anything but an object. Multipart uploads and streaming transports are off here.
        """
        accept = request.headers.get("accept")
        if negotiate(accept) is None:
            raise BadRequest(
                f"This endpoint answers in {' or '.join(ANSWERED)}; the Accept header allows"
                f" neither: {echo(accept or '')}",
                status=406,
            )
        data: object
        kind = media_type(request.content_type)
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
        elif kind == "application/json":
            data = self.parse_json(await request.get_body())
        elif kind == "application/graphql":
            # The body is the document; variables and operationName may come in the URL.
            query = decode_text(await request.get_body())
            data = {**self.parse_query_params(request.query_params), "query": query}
        else:
            given = echo(kind) if kind else "none"
            raise BadRequest(
                f"Send the request with Content-Type application/json or application/graphql,"
                f" not {given}",
                status=415,
            )
        batching = self.schema.config.batching_config
        operations = request_data(
            self._persisted.resolve(data),
            max_batch=batching["max_operations"] if batching else None,
        )
        self._persisted.admit(operations)
        return operations

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        # Carries the negotiated type to create_response, which is not given the request.
        sub_response.media_type = negotiate(request.headers.get("accept")) or JSON
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """The answer in the negotiated type (quhua/media_types.py): in
        application/graphql-response+json, an operation that never ran has no `data` and
        answers 400."""
        if sub_response.media_type != GRAPHQL_RESPONSE:
            return super().create_response(response_data, sub_response)
        answers = response_data if isinstance(response_data, list) else [response_data]
        status = graphql_response_status(answers)
        response = super().create_response(response_data, sub_response)
        response.status_code = sub_response.status_code or status
        response.headers["content-type"] = CONTENT_TYPES[GRAPHQL_RESPONSE]
        return response

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET with a persisted query's hash and no query is a client's, not a browser's.
        if "extensions" in request.query_params:
            return False
        return super().should_render_graphql_ide(request)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # Strawberry's page loads GraphiQL from a CDN; ours, from this app.
        return graphiql_page(request)

    async def execute_operation(  # noqa: PLR0917 - strawberry's signature
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: None,
        sub_response: Any,
    ) -> Any:
        """A request of queries only runs on a read replica that has replayed the caller's
        last write (core/db/replicas.py); should the replica fail it, again on the primary."""
        arguments = (request, request_adapter, request_data, context, root_value, sub_response)
        session: RequestSession = request.scope[_SESSION]
        replica = None
        if self._replicas.enabled and reads_only(request_data):
            replica = await self._replicas.choose(session, _caller(context))
        if replica is None:
            return await self._execute(*arguments)
        failure: DBAPIError | None
        try:
            result = await self._execute(*arguments)
        except DBAPIError as error:
            failure = error
        else:
            failure = database_failure(result)
            if failure is None:
                return result
        self._replicas.failed(replica, failure)
        await session.read_from(None)
        context.forget()
        return await self._execute(*arguments)

    async def _execute(  # noqa: PLR0917 - strawberry's signature
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: None,
        sub_response: Any,
    ) -> Any:
        session: RequestSession = request.scope[_SESSION]
        batch = isinstance(request_data, list)
        if batch:
            # One after the other: a batch is one transaction, and its operations may build
            # on each other's writes.
            results: list[Any] = []
            refused: list[bool] = []
            for number, data in enumerate(request_data):
                if number:
                    # What an earlier operation loaded may have been written since.
                    context.forget()
                session.refused = False
                results.append(
                    await self.execute_single(
                        request=request,
                        request_adapter=request_adapter,
                        sub_response=sub_response,
                        context=context,
                        root_value=root_value,
                        request_data=data,
                    )
                )
                refused.append(session.refused)
            result: Any = results
        else:
            result = await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
            results = [result]
            refused = [session.refused]
        _raise_if_unavailable(results)
        await self._settle(session, results, refused, batch=batch, caller=_caller(context))
        return result

    async def _settle(
        self,
        session: RequestSession,
        results: list[Any],
        refused: list[bool],
        *,
        batch: bool,
        caller: int | None,
    ) -> None:
        """Commit the request, or roll it back and say so in every answer.

        A request commits whole or not at all: an error or a refused write anywhere undoes
        its writes, and then no answer may read as if its writes were kept.
        """
        failed = [
            number
            for number, r in enumerate(results)
            if refused[number] or not isinstance(r, ExecutionResult) or r.errors
        ]
        if failed:
            if session.wrote:
                which = f"operation {failed[0] + 1} of this batch" if batch else "this operation"
                _mark_rolled_back(results, refused, f"{which} failed", batch=batch)
            await session.rollback()
            return
        if not session.wrote:
            return
        try:
            await session.commit()
        except DBAPIError as error:
            if database_unavailable(error):
                # Whether it committed is unknown: the 503 says to read before retrying.
                raise
            logger.exception("the commit of a request failed")
            await session.rollback()
            _mark_rolled_back(
                results, [False] * len(results), "the database refused the commit", batch=True
            )
            return
        COMMITS.notify()
        try:
            # Before the answer leaves: the caller's next read must find the write.
            await self._replicas.note_commit(session, caller)
            # This process sees its own policy changes at once; others within a poll.
            await self._authenticator.refresh(session)
            await session.rollback()
        except DBAPIError:
            # Committed all the same: the next poll catches up.
            logger.exception("noting a commit or refreshing the policy after it failed")

    def encode_json(self, data: object) -> str:
        # Names are Chinese: send them as UTF-8, not as \\u escapes three times the size.
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            errors = [format_error(error) for error in result.errors]
            count_errors(errors)
            response["errors"] = [*errors]
        if result.extensions:
            response["extensions"] = result.extensions
        return response


def _mark_rolled_back(results: list[Any], refused: list[bool], why: str, *, batch: bool) -> None:
    """Each answer of a request whose writes were undone carries an error saying so.

    A refused write keeps its answer (ok: false and what was wrong); every other field's
    data goes, since it would read as kept. A single operation whose only field refused a
    write says as much already and is left as it is.
    """
    for result, was_refused in zip(results, refused, strict=True):
        if not isinstance(result, ExecutionResult):
            continue
        data = result.data or {}
        if was_refused and not batch and len(data) <= 1:
            continue
        kept = {key: value for key, value in data.items() if _is_refusal(value)}
        result.data = {key: kept.get(key) for key in data} if kept else None
        error = GraphQLError(
            f"Not committed: {why}, so no write of this request was kept",
            extensions={"code": ErrorCode.ROLLED_BACK.value},
        )
        result.errors = [*(result.errors or []), error]


def _raise_if_unavailable(results: list[Any]) -> None:
    """Raise what the database raised if an operation found it unreachable: the request
    answers 503 with Retry-After (quhua/database_outage.py), not errors in a 200, and its
    session rolls back as it closes."""
    for result in results:
        for error in getattr(result, "errors", None) or []:
            original = error.original_error
            if original is not None and database_unavailable(original):
                raise original


def _caller(context: Context) -> int | None:
    """Whose writes a request's reads must see: its subject's."""
    return context.principal.subject_id if context.principal is not None else None


def _is_refusal(answer: object) -> bool:
    return isinstance(answer, dict) and answer.get("ok") is False


def _refuse(error: Unauthenticated, answer_type: str) -> JSONResponse:
    return refusal(
        error.message,
        status=401,
        code=ErrorCode.UNAUTHENTICATED,
        headers={"WWW-Authenticate": "Bearer"},
        answer_type=answer_type,
    )


def _accept(headers: dict[bytes, bytes]) -> str | None:
    accept = headers.get(b"accept")
    return accept.decode("latin-1") if accept is not None else None
