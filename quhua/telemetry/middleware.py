"""A server span and a latency measurement for every HTTP request (pure ASGI).

The trace continues the caller's (`traceparent`, by the propagators of `OTEL_PROPAGATORS`)
or, without one, the span the app runs in (an outer ASGI middleware's or a host app's).
Outermost in the app: the time limit's task and everything the request runs inherit the
span, so every span and log line of the request carries its trace id.
"""

from __future__ import annotations

import time

from opentelemetry import context, metrics, propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.spans import CurrentSpan

_tracer = trace.get_tracer("quhua.http")
_meter = metrics.get_meter("quhua.http")

METHOD = "http.request.method"
ROUTE = "http.route"
STATUS = "http.response.status_code"
PATH = "url.path"

# The buckets the semantic conventions advise for http.server.request.duration.
_duration = _meter.create_histogram(
    "http.server.request.duration",
    unit="s",
    description="Duration of HTTP server requests",
    explicit_bucket_boundaries_advisory=[
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ],
)  # fmt: skip


class _Headers(Getter[Scope]):
    """An ASGI scope's headers, as the propagators read them."""

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        wanted = key.lower().encode("latin-1")
        found = [v.decode("latin-1") for k, v in carrier.get("headers") or [] if k == wanted]
        return found or None

    def keys(self, carrier: Scope) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier.get("headers") or []]


_HEADERS = _Headers()


class RequestTelemetry:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        parent = propagate.extract(scope, getter=_HEADERS, context=context.get_current())
        server = _tracer.start_span(
            method, context=parent, kind=SpanKind.SERVER, attributes={METHOD: method}
        )
        with CurrentSpan(server) as span:
            try:
                await self.app(scope, receive, sending)
            finally:
                # The router names the route it chose (a path without its values).
                matched = scope.get("route")
                route = getattr(matched, "path", None)
                attributes: dict[str, str | int] = {METHOD: method, STATUS: status}
                # The method is on the span since its start.
                ending: dict[str, str | int] = {STATUS: status, PATH: scope["path"]}
                if route is not None:
                    attributes[ROUTE] = ending[ROUTE] = route
                    span.update_name(f"{method} {route}")
                span.set_attributes(ending)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)
                _duration.record(time.perf_counter() - started, attributes)
