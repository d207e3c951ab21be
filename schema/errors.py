"""GraphQL errors as callers receive them: a message to act on and `extensions.code`."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError
from opentelemetry import trace
from sqlalchemy.exc import IntegrityError

from core.errors import ErrorCode, QuhuaError

logger = logging.getLogger("quhua.graphql")

INTERNAL = "INTERNAL_SERVER_ERROR"
INVALID = "GRAPHQL_VALIDATION_FAILED"
# The extension naming the trace of a masked error: the log line of its stack names it too.
TRACE_ID = "traceId"


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(
        original, QuhuaError | GraphQLError | IntegrityError
    )


def log_unexpected(errors: Iterable[GraphQLError]) -> None:
    """Log what went wrong on our side; errors of the caller's making are theirs to read."""
    for error in errors:
        if is_unexpected(error):
            trace_id = _trace_id(error)
            logger.error(
                "unexpected error at %s (trace %s)",
                error.path,
                trace_id,
                exc_info=error.original_error,
            )


def _trace_id(error: GraphQLError) -> str:
    """The id the error's answer and log line share, kept on the error: the request's
    OpenTelemetry trace id when it is traced, else a random one of the same shape."""
    extensions = error.extensions or {}
    known = extensions.get(TRACE_ID)
    if isinstance(known, str):
        return known
    context = trace.get_current_span().get_span_context()
    trace_id = (
        trace.format_trace_id(context.trace_id) if context.is_valid else secrets.token_hex(16)
    )
    error.extensions = {**extensions, TRACE_ID: trace_id}
    return trace_id


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The error as sent: our own errors keep their code; anything unexpected is masked."""
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    original = error.original_error
    if isinstance(original, QuhuaError):
        extensions["code"] = original.code.value
    elif isinstance(original, IntegrityError):
        # Two writers raced to the same row; the loser's transaction is rolled back.
        formatted["message"] = "A concurrent change conflicted with this one: read and retry"
        extensions["code"] = ErrorCode.CONFLICT.value
    elif is_unexpected(error):
        # Nothing of the exception (its text may hold SQL or values) reaches the caller.
        formatted["message"] = "Internal server error"
        extensions = {"code": INTERNAL, TRACE_ID: _trace_id(error)}
    elif error.path is not None and error.message.startswith("Argument "):
        # graphql-core coerces a field's arguments as it reaches the field, after validation:
        # a null variable given to a non-null argument with a default, for one.
        extensions["code"] = ErrorCode.BAD_USER_INPUT.value
    else:
        extensions.setdefault("code", INVALID if error.path is None else INTERNAL)
    formatted["extensions"] = extensions
    return formatted


def settle_in_place(errors: Iterable[GraphQLError]) -> None:
    """Give each error the message and code `format_error` sends, on the error itself: the
    subscription transport formats errors its own way (`error.formatted`), so what it sends
    must already be masked and coded. Formatting again gives the same."""
    for error in errors:
        formatted = format_error(error)
        error.message = formatted["message"]
        error.extensions = formatted["extensions"]
