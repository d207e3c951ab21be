"""Rendering a console page: its template, its labels in the viewer's language, its headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from quhua.console.messages import LANG_COOKIE, LANGUAGES, Lang, language, translator

ENVIRONMENT = Environment(
    loader=PackageLoader("quhua.console", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Scripts and styles only from this app, no inline script or style, no eval: the chart's
# data travels as a JSON script element, which is data, not code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
LANG_COOKIE_SECONDS = 365 * 24 * 60 * 60


def render(request: Request, template: str, *, status: int = 200, **fields: Any) -> HTMLResponse:
    """The page in the viewer's language; a `?lang=` asked is remembered in a cookie."""
    lang = language(request)
    body = ENVIRONMENT.get_template(template).render(
        t=translator(lang),
        lang=lang,
        languages=[(other, _with_lang(request, other)) for other in LANGUAGES],
        number=number,
        root=app_root(request),
        **fields,
    )
    response = HTMLResponse(body, status_code=status)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    # Pages hold the viewer's figures: no shared cache keeps them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.query_params.get("lang") == lang:
        remember_language(response, request, lang)
    return response


def app_root(request: Request) -> str:
    """Where the app is mounted (a proxy's prefix, or nothing): every link starts with it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def remember_language(response: HTMLResponse, request: Request, lang: Lang) -> None:
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=LANG_COOKIE_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def number(value: float | None) -> str:
    """A figure as the grid shows it: two decimals, thousands separated."""
    return "" if value is None else f"{value:,.2f}"


def _with_lang(request: Request, lang: Lang) -> str:
    """This page's address in another language (a path and query: same origin)."""
    query = {**request.query_params, "lang": lang}
    return f"{request.url.path}?{urlencode(query)}"
