"""The bare Starlette app bench/serve.py compares the server with: a constant JSON body."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_BODY = {"data": {"jurisdiction": {"code": "640104", "name": "兴庆区", "level": "COUNTY"}}}


async def bare(_request: Request) -> Response:
    return JSONResponse(_BODY)


app = Starlette(routes=[Route("/bare", bare, methods=["GET", "POST"]), Route("/healthz", bare)])
