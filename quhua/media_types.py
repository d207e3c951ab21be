"""The media type a GraphQL answer is sent in, and the HTTP status it carries there.

GraphQL over HTTP (spec/GraphQLOverHTTP.md of graphql/graphql-over-http) answers in
`application/graphql-response+json` when the caller's Accept header prefers it, and in the
legacy `application/json` otherwise. What holds in each:

- `application/json`: every well-formed request answers 200, whatever its GraphQL errors (a
  4xx there could come from any proxy on the way). A caller sending no Accept header, or one
  that accepts anything (`*/*`), gets this type, as the spec's legacy watershed rules and the
  graphql-http audit (80D8, 47DE) expect.
- `application/graphql-response+json`: an operation that never ran (its document did not parse
  or validate, its variables did not coerce, it was refused before execution) has no `data`
  entry and answers 400; one that ran answers 200, its `data` null or not.
- A caller accepting neither is refused with 406 before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from strawberry.http import GraphQLHTTPResponse

from core.errors import ErrorCode

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
CONTENT_TYPES = {JSON: JSON, GRAPHQL_RESPONSE: f"{GRAPHQL_RESPONSE}; charset=utf-8"}
# The type of an answer when the Accept header names neither type on its own (`*/*`,
# `application/*`) or is missing.
DEFAULT = JSON
ANSWERED = (GRAPHQL_RESPONSE, JSON)
# Distinct Accept headers are few (one per kind of client); the cache bounds what many
# made-up ones cost.
_NEGOTIATED = 256
_REQUEST_ERROR = 400


@lru_cache(maxsize=_NEGOTIATED)
def negotiate(accept: str | None) -> str | None:
    """The type to answer in for an Accept header (RFC 9110 §12.5.1), or None if it accepts
    neither. Each type takes the quality of the most specific range that matches it; on a
    tie a type the caller named beats one reached by a wildcard, and of two named the newer
    wins (the spec's recommended header lists both, the new one first)."""
    if accept is None or not accept.strip():
        return DEFAULT
    ranges = [parsed for part in accept.split(",") if (parsed := _media_range(part))]
    best: tuple[float, bool, bool] | None = None
    chosen: str | None = None
    for kind in ANSWERED:
        quality, named = _quality(kind, ranges)
        if quality <= 0:
            continue
        rank = (quality, named, kind == (GRAPHQL_RESPONSE if named else DEFAULT))
        if best is None or rank > best:
            best, chosen = rank, kind
    return chosen


def _media_range(part: str) -> tuple[str, float] | None:
    """A range of an Accept header and its quality; None for one that cannot hold a UTF-8
    JSON answer (another charset) or does not parse."""
    kind, *parameters = (piece.strip() for piece in part.split(";"))
    quality = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"').lower()
        if name == "q":
            try:
                quality = float(value)
            except ValueError:
                return None
        elif name == "charset" and value != "utf-8":
            return None
    kind = kind.lower()
    if kind.count("/") != 1:
        return None
    return kind, quality


def _quality(kind: str, ranges: Sequence[tuple[str, float]]) -> tuple[float, bool]:
    """The quality the ranges give the type, and whether a range names it exactly."""
    family = kind.split("/", 1)[0]
    for candidate in (kind, f"{family}/*", "*/*"):
        qualities = [quality for name, quality in ranges if name == candidate]
        if qualities:
            return max(qualities), candidate == kind
    return 0.0, False


def never_ran(answer: Mapping[str, object]) -> bool:
    """Whether an answer is of an operation that never ran: no data, and every error one of
    the request (no error of a field, which has a path; none saying that writes the operation
    made were undone)."""
    if answer.get("data") is not None:
        return False
    errors = answer.get("errors")
    if not isinstance(errors, list) or not errors:
        return False
    return all(isinstance(error, dict) and _of_the_request(error) for error in errors)


def _of_the_request(error: Mapping[str, object]) -> bool:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return "path" not in error and code != ErrorCode.ROLLED_BACK.value


def graphql_response_status(answers: Sequence[GraphQLHTTPResponse]) -> int:
    """Drop the `data` entry of each answer whose operation never ran; the status is 400 when
    none ran, 200 when any did (a batch's answers each say how their operation went)."""
    ran = False
    for answer in answers:
        if never_ran(answer):
            answer.pop("data", None)
        else:
            ran = True
    return 200 if ran else _REQUEST_ERROR
