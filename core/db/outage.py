"""Telling a database that cannot be reached from one that refused a statement."""

from __future__ import annotations

import psycopg
from sqlalchemy.exc import DBAPIError

# PostgreSQL's SQLSTATEs of a server that is going away or not yet taking connections:
# admin_shutdown (a fast or immediate stop), crash_shutdown, cannot_connect_now (starting up
# or shutting down). Class 08 (connection exceptions) is matched by its prefix.
_GOING_AWAY = frozenset({"57P01", "57P02", "57P03"})


def database_unavailable(error: BaseException) -> bool:
    """Whether the error says the database could not be reached or dropped the connection,
    so that the same request may succeed once it is back: not whether a statement was wrong.

    SQLAlchemy marks a broken connection (`connection_invalidated`); a connection that could
    not be opened at all comes as psycopg's OperationalError with no SQLSTATE.
    """
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    if not isinstance(original, psycopg.OperationalError):
        return False
    state = original.sqlstate
    return state is None or state.startswith("08") or state in _GOING_AWAY
