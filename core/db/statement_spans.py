"""A span for every SQL statement an engine runs inside a traced request, under the span
current there.

An event listener of our own rather than opentelemetry-instrumentation-sqlalchemy, whose
releases declare SQLAlchemy below 2.1 and instrument nothing on 2.1 unless told to skip
that check. Statements carry their bound parameters' placeholders only: no value reaches a
span. Attached only when tracing is on (quhua/telemetry/), so that off costs nothing.
SQLite's deferred BEGIN goes straight to the driver (core.db.engine) and has none: it takes
no lock and returns at once.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection, ExceptionContext

_tracer = trace.get_tracer("quhua.db")
# Where a statement's span waits for the statement to end: on the execution context.
_SPAN = "_quhua_span"

SYSTEM = "db.system.name"
QUERY = "db.query.text"
OPERATION = "db.operation.name"
NAMESPACE = "db.namespace"


def trace_statements(engine: Engine) -> None:
    """Give each statement of the engine (an async engine's `sync_engine`) its own span."""
    system = engine.dialect.name
    namespace = engine.url.database or ""

    @event.listens_for(engine, "before_cursor_execute")
    def _begin(
        _connection: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        context: Any,
        _many: bool,
    ) -> None:
        if context is None or not trace.get_current_span().is_recording():
            # Outside a traced request (the policy poll, every quarter second): a trace of
            # one statement each time would bury the requests' traces.
            return
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = _tracer.start_span(
            operation,
            kind=SpanKind.CLIENT,
            attributes={
                SYSTEM: system,
                NAMESPACE: namespace,
                OPERATION: operation,
                QUERY: statement,
            },
        )
        setattr(context, _SPAN, span)

    @event.listens_for(engine, "after_cursor_execute")
    def _end(
        _connection: Connection,
        _cursor: Any,
        _statement: str,
        _parameters: Any,
        context: Any,
        _many: bool,
    ) -> None:
        span: Span | None = getattr(context, _SPAN, None)
        if span is not None:
            span.end()
            delattr(context, _SPAN)

    @event.listens_for(engine, "handle_error")
    def _failed(failure: ExceptionContext) -> None:
        span: Span | None = getattr(failure.execution_context, _SPAN, None)
        if span is None:
            return
        span.record_exception(failure.original_exception)
        span.set_status(StatusCode.ERROR, type(failure.original_exception).__name__)
        span.end()
        delattr(failure.execution_context, _SPAN)
