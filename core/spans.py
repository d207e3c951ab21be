"""A span current for a block: what `Tracer.start_as_current_span` does, in one object.

The API's own is generator context managers two deep (the proxy tracer's, then the SDK's
or the no-op tracer's), which cost even with telemetry off: a small query opens two such
spans (its operation, its DataLoader batch) and three with tracing on. What holds is the
same: the span is current inside the block (every span and log line started there is its
child), an exception escaping the block is recorded on it and sets its status to ERROR,
and the span ends as the block does.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from contextvars import Token
from types import TracebackType

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, Span, Status, StatusCode, Tracer
from opentelemetry.util.types import Attributes

# What a block under a span that records nothing runs in: that span stays current.
_UNRECORDED: AbstractContextManager[Span] = nullcontext(INVALID_SPAN)


class CurrentSpan:
    """`with CurrentSpan(tracer.start_span(...)) as span:`."""

    __slots__ = ("_token", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self._token: Token[Context] | None = None

    def __enter__(self) -> Span:
        self._token = context.attach(trace.set_span_in_context(self.span))
        return self.span

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            context.detach(self._token)
        # Exceptions only: GeneratorExit or a cancellation is no error (as use_span has it).
        if isinstance(error, Exception) and self.span.is_recording():
            self.span.record_exception(error)
            self.span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        self.span.end()


def child_span(
    tracer: Tracer, name: str, attributes: Attributes = None
) -> AbstractContextManager[Span]:
    """A span current for a block, the current span's child; none when the current span
    records nothing (a request its sampler left out, or no traced request at all), whose
    children would record nothing either: the block then costs no span."""
    if not trace.get_current_span().is_recording():
        return _UNRECORDED
    return CurrentSpan(tracer.start_span(name, attributes=attributes))
