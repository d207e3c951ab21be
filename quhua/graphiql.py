"""GraphiQL's page, loading its scripts and styles from this app (quhua/static/graphiql/)."""

from __future__ import annotations

import html
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse

_TEMPLATE = (files("quhua") / "graphiql.html").read_text(encoding="utf-8")


def graphiql_page(request: Request) -> HTMLResponse:
    """The GraphiQL page, its assets under the app's root (behind a proxy, its root_path)."""
    root = html.escape(request.scope.get("root_path", "").rstrip("/"))
    return HTMLResponse(_TEMPLATE.replace("{{ root }}", root))
