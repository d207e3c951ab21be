"""The declarative base every domain package's tables hang from."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum, MetaData, String
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def binary_string(length: int) -> String:
    """A string compared byte by byte on every database.

    Range predicates on codes and materialised paths rely on plain byte order; PostgreSQL's
    default collation (for example en_US) ignores punctuation and would break them.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def string_enum(kind: type[StrEnum], name: str, *, length: int = 20) -> Enum:
    """A column of enum values stored as their lowercase text, with a CHECK constraint."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
        create_constraint=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
