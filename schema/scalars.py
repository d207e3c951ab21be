"""Scalars whose wire form the schema fixes for every field: DateTime always with its offset."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types.scalar import ScalarDefinition


def serialize_datetime(value: object) -> str:
    """ISO 8601 in UTC with its offset (`2026-12-01T10:00:00+00:00`), on either database.

    SQLite hands back the UTC the writers stored without its zone; PostgreSQL an aware value
    in the session's zone. Both are the same instant, written the same way.
    """
    if not isinstance(value, dt.datetime):
        raise TypeError(f"DateTime cannot represent {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat()


def parse_datetime(value: object) -> dt.datetime:
    """An ISO 8601 input; one without an offset is taken as UTC."""
    if not isinstance(value, str):
        raise ValueError("DateTime is written as an ISO 8601 string")
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


# Name and description as strawberry's own: the SDL stays `scalar DateTime`.
DATETIME: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat)",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)
SCALARS: dict[object, ScalarDefinition] = {dt.datetime: DATETIME}
