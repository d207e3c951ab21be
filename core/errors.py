"""Errors that every layer may raise; the GraphQL layer turns them into `extensions.code`."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    LOCKED = "LOCKED"
    # The request's writes were undone because one of its operations failed.
    ROLLED_BACK = "ROLLED_BACK"
    # The HTTP request is no GraphQL request (malformed JSON, wrong shapes, unknown operation).
    BAD_REQUEST = "BAD_REQUEST"
    # Over the caller's rate limit: retry after the response's Retry-After seconds.
    RATE_LIMITED = "RATE_LIMITED"
    # An automatic persisted query's hash the server does not hold: send it with its query.
    # The spelling is the Apollo protocol's, which clients match.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    # The allow-list holds no operation with this document (Apollo Router's code).
    PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
    # The database could not be reached: retry after the response's Retry-After seconds.
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"


class QuhuaError(Exception):
    """An error a caller can act on: a code for programs and a message for people."""

    code: ErrorCode = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadUserInput(QuhuaError):
    code = ErrorCode.BAD_USER_INPUT


class NotFound(QuhuaError):
    code = ErrorCode.NOT_FOUND


class Unauthenticated(QuhuaError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(QuhuaError):
    code = ErrorCode.FORBIDDEN


class Conflict(QuhuaError):
    code = ErrorCode.CONFLICT


class Locked(QuhuaError):
    """The values are approved and locked; the message names who approved them and when."""

    code = ErrorCode.LOCKED


def shown(value: str, limit: int = 40) -> str:
    """A caller's text as a message quotes it: its repr, cut to its first `limit` characters
    (then "…"), so that a long input is never echoed whole."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}…"
