"""`GET /export/aggregates` and `GET /export/values`: the exports over HTTP.

Both go through the HTTP door (quhua.http_door): the caller and the scope are GraphQL's,
and a refusal is GraphQL's error body with its status (400, 401, 403, 404). Parameters are
checked whole before the first byte: an unknown or repeated one is refused by name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterable
from typing import Any, TypeVar

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from authz.roles import Action
from core.errors import BadUserInput, shown
from quhua.exports.aggregates import AggregateExport, AggregatesAsked
from quhua.exports.arguments import level_argument
from quhua.exports.formats import (
    FORMATS,
    AggregateShapes,
    Shapes,
    ValueLineShapes,
    ValueShapes,
    writer_for,
)
from quhua.exports.periods import period_type_argument
from quhua.exports.streaming import Export, ExportBody, accepts_gzip, encoded
from quhua.exports.values import ValueExport, ValuesAsked
from quhua.http_door import HttpDoor
from resolvers.context import Context

R = TypeVar("R")

_COMMON = ("under", "from", "to", "elements", "format", "bom", "cursors", "after")
AGGREGATE_PARAMETERS = frozenset(
    (*_COMMON, "level", "period_type", "indicators", "disaggregate", "approved_only")
)
VALUE_PARAMETERS = frozenset(_COMMON)
MAX_LISTED = 200


def _checked(params: QueryParams, known: frozenset[str]) -> None:
    for name in params:
        if name not in known:
            raise BadUserInput(
                f"{shown(name)} is not a parameter of this export (known: "
                f"{', '.join(sorted(known))})"
            )
        if len(params.getlist(name)) > 1:
            raise BadUserInput(f"{name}: given more than once")


def _required(params: QueryParams, name: str) -> str:
    found = params.get(name)
    if found is None or not found.strip():
        raise BadUserInput(f"{name}: required")
    return found.strip()


def _codes(params: QueryParams, name: str) -> tuple[str, ...]:
    codes = [code.strip() for code in params.get(name, "").split(",") if code.strip()]
    if len(codes) > MAX_LISTED:
        raise BadUserInput(f"{name}: {len(codes)} codes; at most {MAX_LISTED}")
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise BadUserInput(f"{name}: {shown(code)} given twice")
        seen.add(code)
    return tuple(codes)


def _flag(params: QueryParams, name: str) -> bool:
    found = params.get(name)
    if found is None or found == "":
        return False
    if found.lower() in {"true", "1"}:
        return True
    if found.lower() in {"false", "0"}:
        return False
    raise BadUserInput(f"{name}: {shown(found)} is neither true nor false")


def _format(params: QueryParams) -> str:
    name = params.get("format", "csv").strip().lower()
    if name not in FORMATS:
        raise BadUserInput(f"format: {shown(name)} is not a format (one of: {', '.join(FORMATS)})")
    return name


class ExportResponse(StreamingResponse):
    """A stream whose steps are never cut in the middle.

    When the client goes away, RequestLimits cancels the request's task once. Whatever
    step is under way finishes first (a page read, or the session's rollback and close
    that the door runs after the last chunk), then the body is closed, which ends the
    session as after any early end. Starlette's own listener cancels a scope instead,
    which cancels every later await too: the door's cleanup was cut short with it and the
    connection dropped with an error; so was a cancellation landing in that cleanup.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        body = aiter(self.body_iterator)
        try:
            while True:
                step = asyncio.ensure_future(_step(body))
                try:
                    chunk, done = await asyncio.shield(step)
                except asyncio.CancelledError:
                    await asyncio.wait({step})
                    raise
                if done:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except BaseException:
            await _aclose(body)
            raise
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _step(body: AsyncIterator[Any]) -> tuple[bytes, bool]:
    """The body's next chunk (as bytes), or that it ended."""
    try:
        chunk = await anext(body)
    except StopAsyncIteration:
        return b"", True
    return (chunk if isinstance(chunk, bytes) else bytes(chunk)), False


async def _aclose(body: AsyncIterator[Any]) -> None:
    close = getattr(body, "aclose", None)
    if close is not None:
        await close()


async def _respond(
    request: Request, export: Export[R], shapes: Shapes[R], exported_at: dt.datetime
) -> Response:
    params = request.query_params
    writer = writer_for(
        _format(params),
        shapes,
        export.cursor,
        cursors=_flag(params, "cursors"),
        bom=_flag(params, "bom"),
        exported_at=exported_at,
    )
    body = ExportBody(export, writer)
    await body.open()
    gzip = accepts_gzip(request.headers.get("accept-encoding"))
    headers = {
        "Content-Disposition": f'attachment; filename="{body.filename()}"',
        "Cache-Control": "no-store",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if gzip:
        headers["Content-Encoding"] = "gzip"
    return ExportResponse(
        encoded(body.text(), gzip=gzip), media_type=writer.media_type, headers=headers
    )


async def export_aggregates(request: Request, context: Context) -> Response:
    # Who is asking comes first: an anonymous caller learns nothing about the parameters.
    context.scope(Action.READ_TREE)
    params = request.query_params
    _checked(params, AGGREGATE_PARAMETERS)
    asked = AggregatesAsked(
        under=_required(params, "under"),
        level=level_argument(_required(params, "level")),
        first=_required(params, "from"),
        last=_required(params, "to"),
        period_type=period_type_argument(params.get("period_type")),
        indicators=_codes(params, "indicators"),
        elements=_codes(params, "elements"),
        disaggregate=_flag(params, "disaggregate"),
        approved_only=_flag(params, "approved_only"),
    )
    exported_at = dt.datetime.now(dt.UTC)
    export = AggregateExport(context, asked, after=params.get("after"))
    return await _respond(request, export, AggregateShapes(exported_at), exported_at)


async def export_values(request: Request, context: Context) -> Response:
    context.scope(Action.READ_TREE)
    params = request.query_params
    _checked(params, VALUE_PARAMETERS)
    asked = ValuesAsked(
        under=_required(params, "under"),
        first=_required(params, "from"),
        last=_required(params, "to"),
        elements=_codes(params, "elements"),
    )
    fmt = _format(params)
    # Who stored each value is a DHIS2 field: read only for that format. Plain CSV lines
    # are written by the database.
    lines = fmt == "csv" and not _flag(params, "cursors")
    export = ValueExport(
        context, asked, after=params.get("after"), authors=fmt == "dvs", lines=lines
    )
    shapes: Shapes[Any] = ValueLineShapes() if lines else ValueShapes()
    return await _respond(request, export, shapes, dt.datetime.now(dt.UTC))


def export_routes(door: HttpDoor) -> Iterable[Route]:
    """The export endpoints, each behind the door."""
    return [
        Route("/export/aggregates", door(export_aggregates), methods=["GET"]),
        Route("/export/values", door(export_values), methods=["GET"]),
    ]
