"""A session whose statements can be sent to another engine between transactions: how a
read-only request moves to a read replica (core/db/replicas.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session


class RoutedSession(Session):
    """SQLAlchemy's custom get_bind() pattern: `route`, when set, takes every statement.

    It changes only while the session holds no transaction (RequestSession.read_from), so
    one transaction never spans two servers.
    """

    route: Engine | None = None

    def get_bind(self, *args: Any, **kwargs: Any) -> Engine | Connection:
        if self.route is not None:
            return self.route
        return super().get_bind(*args, **kwargs)
