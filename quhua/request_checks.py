"""What a GraphQL request over HTTP must be before the schema sees it, and the refusal if not.

Every malformed request answers 4xx with one body, never a 500:
`{"errors": [{"message": ..., "extensions": {"code": "BAD_REQUEST"}}]}`. A message says what
was wrong and where (`Operation 2 of the batch: ...`); the caller's text it quotes is cut to
ECHO_LIMIT characters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from graphql import GraphQLError, OperationDefinitionNode
from starlette.responses import JSONResponse
from strawberry.extensions import ParserCache
from strawberry.http import GraphQLRequestData

from core.errors import ErrorCode
from quhua.media_types import CONTENT_TYPES, JSON
from schema.limits import CACHE_SIZE, MAX_TOKENS

BAD_REQUEST = ErrorCode.BAD_REQUEST.value
ECHO_LIMIT = 80
# The deepest a request's JSON may nest, counting the batch's list and the variables: the
# schema's inputs nest a few levels, and graphql-core coerces variables recursively.
MAX_JSON_DEPTH = 32
# Integers longer than this are no GraphQL Int or Float (and Python refuses 4,300 digits).
MAX_DIGITS = 100
SHOWN_NAMES = 5

# The schema's own parser cache: ParserCache instances of one size share it, keyed by the
# arguments the schema passes (MaxTokensLimiter's max_tokens), so a document parsed here
# is not parsed again when it runs.
_parse = ParserCache(maxsize=CACHE_SIZE).cached_parse_document


class BadRequest(Exception):
    """A request that is no GraphQL request: answered with `status` and the message."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def refusal(
    message: str,
    *,
    status: int = 400,
    code: str = BAD_REQUEST,
    headers: Mapping[str, str] | None = None,
    answer_type: str = JSON,
) -> JSONResponse:
    """A refused request's answer: a GraphQL error body with a code, in the media type the
    caller accepts (quhua/media_types.py)."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(
        body, status_code=status, headers=headers, media_type=CONTENT_TYPES[answer_type]
    )


def echo(text: str) -> str:
    """The caller's text, quoted, cut to ECHO_LIMIT characters."""
    if len(text) > ECHO_LIMIT:
        text = text[: ECHO_LIMIT - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def media_type(content_type: str | None) -> str:
    """A Content-Type header's media type, without its parameters, in lower case."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"The request body is not valid UTF-8 (at byte {error.start})") from error


def decode_json(data: str | bytes) -> object:
    """A request body's (or a GET parameter's) JSON: UTF-8, and finite numbers."""
    text = decode_text(data) if isinstance(data, bytes) else data
    try:
        value = json.loads(
            text, parse_constant=_no_constant, parse_float=_finite, parse_int=_integer
        )
    except RecursionError as error:
        raise BadRequest(_too_deep()) from error
    except json.JSONDecodeError as error:
        raise BadRequest(f"The request is not valid JSON: {error}") from error
    return value


def request_data(
    data: object, *, max_batch: int | None
) -> GraphQLRequestData | list[GraphQLRequestData]:
    """The operation (or the batch of up to max_batch) that decoded request data asks for.

    The data is checked whole (depth, Unicode) before any of it is read.
    """
    _check_values(data)
    if not isinstance(data, list):
        return _operation(data, "")
    if max_batch is None:
        raise BadRequest("This endpoint runs one operation per request, not a list")
    if not data:
        raise BadRequest("A batch must hold at least one operation")
    if len(data) > max_batch:
        raise BadRequest(f"A batch holds at most {max_batch} operations, not {len(data)}")
    return [
        _operation(item, f"Operation {number} of the batch: ")
        for number, item in enumerate(data, 1)
    ]


def _refused(where: str, what: str) -> BadRequest:
    """A refusal of one operation: `where` names it in a batch, else the message starts."""
    return BadRequest(f"{where}{what}" if where else what[0].upper() + what[1:])


def _operation(item: object, where: str) -> GraphQLRequestData:
    if not isinstance(item, dict):
        raise _refused(where, f"a GraphQL request is an object with a `query`, not {_kind(item)}")
    query = item.get("query")
    if query is None or query == "":
        raise _refused(where, "the request has no `query`")
    if not isinstance(query, str):
        raise _refused(where, f"`query` must be a string, not {_kind(query)}")
    variables = item.get("variables")
    if not isinstance(variables, dict | None):
        raise _refused(where, f"`variables` must be an object or null, not {_kind(variables)}")
    name = item.get("operationName")
    if not isinstance(name, str | None):
        raise _refused(where, f"`operationName` must be a string or null, not {_kind(name)}")
    extensions = item.get("extensions")
    if not isinstance(extensions, dict | None):
        raise _refused(where, f"`extensions` must be an object or null, not {_kind(extensions)}")
    _check_operation_name(query, name, where)
    return GraphQLRequestData(
        query=query, variables=variables, operation_name=name, extensions=extensions
    )


def _check_operation_name(query: str, name: str | None, where: str) -> None:
    """The document holds the operation to run: the one named, or its only one.

    Strawberry would run the first of several operations when no name is given; the
    GraphQL spec requires the caller to choose.
    """
    try:
        document = _parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        # A syntax error, too many tokens or too deep a nesting: the schema answers it.
        return
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    names = [op.name.value for op in operations if op.name is not None]
    if not operations:
        raise _refused(where, "the document holds no operation to run")
    if name is None:
        if len(operations) > 1:
            raise _refused(
                where,
                f"the document holds {len(operations)} operations "
                f"({_listing(names, len(operations))}): say which to run in `operationName`",
            )
    elif name not in names:
        holds = f" (it holds {_listing(names, len(operations))})" if names else ""
        raise _refused(where, f"the document holds no operation named {echo(name)}{holds}")


def _listing(names: list[str], operations: int) -> str:
    shown = [echo(name) for name in names[:SHOWN_NAMES]]
    if len(names) > SHOWN_NAMES:
        shown.append(f"{len(names) - SHOWN_NAMES} more")
    if operations > len(names):
        shown.append(f"{operations - len(names)} anonymous")
    return ", ".join(shown)


def _check_values(value: object) -> None:
    """Nesting at most MAX_JSON_DEPTH deep, and strings that are Unicode (a JSON escape
    may hold a lone surrogate, which no answer could encode). Iterative: the input may nest
    as deep as the JSON decoder allows."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, list | dict):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(_too_deep())
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                item = list(item.values())
            stack.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise BadRequest("The request holds the NUL character (U+0000): no text may")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BadRequest(
            f"The request holds a lone surrogate ({text[error.start]!a}): not Unicode text"
        ) from error


def _too_deep() -> str:
    return f"The request's JSON nests deeper than {MAX_JSON_DEPTH} levels"


def _no_constant(name: str) -> float:
    raise BadRequest(f"The request holds {name}: JSON has no NaN or Infinity")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BadRequest(f"The request holds a number out of range: {echo(text)}")
    return number


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise BadRequest(f"The request holds an integer of more than {MAX_DIGITS} digits")
    return int(text)


def _kind(value: object) -> str:
    """The JSON kind of a decoded value, as a message names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
