"""The console's routes: `/` (the sign-in page or the dashboard), sign-in, sign-out, search.

Each page goes through the HTTP door (quhua/http_door.py) as the viewer: the session
cookie's token is handed to it as the Authorization header, so the console authenticates
exactly as GraphQL does, and a revoked or expired token ends the console session too.
Every POST carries the session's CSRF token; a missing or wrong one is refused with 403.
Signing out ends the session for good: its nonce is recorded (authz.ended_sessions), so a
copy of the cookie taken before is refused like a revoked token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from authz.authentication import Authenticator
from authz.ended_sessions import end_session, session_ended
from core.errors import Unauthenticated
from quhua.console import dashboard as screens
from quhua.console import reporting as followed
from quhua.console.admin_pages import AdminPages
from quhua.console.boundaries import Boundaries
from quhua.console.cycle_pages import CyclePages
from quhua.console.gateway import Gateway
from quhua.console.insight_pages import InsightPages
from quhua.console.pages import app_root, render
from quhua.console.period_choice import PeriodChoice
from quhua.console.screen import (
    SESSION,
    begin,
    field_of,
    label_of,
    period_query,
    show,
    signed_in,
    status_of,
)
from quhua.console.session_cookie import (
    COOKIE,
    MAX_AGE_SECONDS,
    ConsoleSession,
    SessionCookies,
)
from quhua.exports.routes import export_aggregates
from quhua.http_door import HttpDoor
from resolvers.context import Context
from tenancy.levels import Level

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Context], Awaitable[Response]]


def console_routes(
    door: HttpDoor,
    authenticator: Authenticator,
    secret: bytes,
    boundaries: Boundaries | None = None,
) -> list[BaseRoute]:
    console = Console(door, authenticator, SessionCookies(secret), boundaries)
    cycle = CyclePages(console.cookies, console.csrf_refused)
    administration = AdminPages(console.cookies, console.csrf_refused)
    insight = InsightPages(console.cookies, console.csrf_refused)
    return [
        Route("/", console.as_viewer(console.home), methods=["GET"]),
        Route("/console/sign-in", console.as_viewer(console.sign_in), methods=["POST"]),
        Route("/console/sign-out", console.as_viewer(console.sign_out), methods=["POST"]),
        Route("/console/search", console.as_viewer(console.search), methods=["GET"]),
        Route("/console/boundaries", console.as_viewer(console.boundaries), methods=["GET"]),
        Route("/console/reporting", console.as_viewer(console.reporting), methods=["GET"]),
        Route("/console/export/aggregates", console.as_viewer(console.download), methods=["GET"]),
        Route("/console/entry", console.as_viewer(cycle.entry), methods=["GET", "POST"]),
        Route("/console/entry/submit", console.as_viewer(cycle.submit), methods=["POST"]),
        Route("/console/admin", console.as_viewer(administration.grants), methods=["GET", "POST"]),
        Route(
            "/console/admin/tokens",
            console.as_viewer(administration.tokens),
            methods=["GET", "POST"],
        ),
        Route(
            "/console/admin/roles",
            console.as_viewer(administration.roles),
            methods=["GET", "POST"],
        ),
        Route("/console/assessment", console.as_viewer(insight.assessment), methods=["GET"]),
        Route("/console/quality", console.as_viewer(insight.quality), methods=["GET"]),
        Route("/console/audit", console.as_viewer(insight.audit), methods=["GET"]),
        Route("/console/upload", console.as_viewer(cycle.upload), methods=["POST"]),
        Route("/console/approval", console.as_viewer(cycle.approval), methods=["GET", "POST"]),
    ]


class Console:
    def __init__(
        self,
        door: HttpDoor,
        authenticator: Authenticator,
        cookies: SessionCookies,
        boundaries: Boundaries | None,
    ) -> None:
        self._boundaries = boundaries
        self._door = door
        self._authenticator = authenticator
        self.cookies = cookies

    def as_viewer(self, handler: Handler) -> Endpoint:
        """The handler behind the door, as the session's viewer (anonymous without one)."""
        behind_door = self._door(_unless_ended(handler))

        async def endpoint(request: Request) -> Response:
            session = self.cookies.read(request)
            headers = [(k, v) for k, v in request.scope["headers"] if k != b"authorization"]
            if session is not None and session.token is not None:
                headers.append((b"authorization", f"Bearer {session.token}".encode("latin-1")))
            scope = {**request.scope, "headers": headers, SESSION: session}
            response = await behind_door(Request(scope, request.receive))
            if response.status_code == 401 and session is not None and session.signed_in:
                # The door refused the session's token (revoked or expired since sign-in),
                # or the session was signed out.
                return self._sign_in_page(request, None, message="session_ended", status=401)
            return response

        return endpoint

    async def home(self, request: Request, context: Context) -> Response:
        session: ConsoleSession | None = request.scope[SESSION]
        if context.principal is None or session is None:
            return self._sign_in_page(request, session)
        return await self._dashboard(request, context, session)

    async def sign_in(self, request: Request, context: Context) -> Response:
        session: ConsoleSession | None = request.scope[SESSION]
        form = await request.form()
        if not self.cookies.csrf_ok(session, form.get("csrf")):
            return self.csrf_refused(request, session)
        token = field_of(form, "token")
        if not token:
            return self._sign_in_page(request, session, message="token_missing", status=400)
        try:
            # The same Authenticator the door and GraphQL use: a Quhua token or an SSO JWT.
            principal = await self._authenticator.authenticate(context.session, f"Bearer {token}")
        except Unauthenticated:
            principal = None
        if principal is None:
            return self._sign_in_page(request, session, message="token_refused", status=401)
        response = RedirectResponse(f"{app_root(request)}/", status_code=303)
        # A new nonce: the session signed in is never one a visitor was handed before.
        self.cookies.store(response, request, self.cookies.new(token))
        return response

    async def sign_out(self, request: Request, context: Context) -> Response:
        form = await request.form()
        session: ConsoleSession | None = request.scope[SESSION]
        if not self.cookies.csrf_ok(session, form.get("csrf")):
            return self.csrf_refused(request, session)
        if session is not None and session.signed_in:
            # Until the cookie's own end: no copy of it is accepted after this.
            until = dt.datetime.fromtimestamp(session.issued_at + MAX_AGE_SECONDS, dt.UTC)
            await end_session(context.session, session.nonce, until)
        response = RedirectResponse(f"{app_root(request)}/", status_code=303)
        response.delete_cookie(
            COOKIE,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def search(self, request: Request, context: Context) -> Response:
        session: ConsoleSession | None = request.scope[SESSION]
        if context.principal is None or session is None:
            return RedirectResponse(f"{app_root(request)}/", status_code=303)
        text = request.query_params.get("q", "").strip()
        gateway = Gateway(context)
        found, problem = await screens.search(gateway, text) if text else ([], None)
        template = "search_results.html" if "hx-request" in request.headers else "search.html"
        response = render(
            request,
            template,
            status=status_of(problem),
            found=found,
            asked=text,
            problem=problem,
            problem_label=label_of(problem),
            csrf=self.cookies.csrf_token(session),
            viewer_name="",
        )
        response.headers["Server-Timing"] = gateway.server_timing()
        return response

    async def _dashboard(
        self, request: Request, context: Context, session: ConsoleSession
    ) -> Response:
        begun = await begin(request, context, session, self.cookies)
        if isinstance(begun, Response):
            return begun
        gateway, viewer, page, code, period, today = begun
        params = request.query_params
        level = screens.grid_level(code)
        if level is None:
            return render(
                request, "message.html", status=400, message="bad_code", detail=code, **page
            )
        codes = [i["code"] for i in viewer.indicators]
        if not codes:
            return render(request, "message.html", message="no_catalogue", **page)
        default = screens.CHART_INDICATOR if screens.CHART_INDICATOR in codes else codes[0]
        indicator = params.get("indicator") or default
        names = {i["code"]: i["name"] for i in viewer.indicators}
        columns = codes[: screens.GRID_INDICATORS]
        sort = params.get("sort")
        order = screens.GridOrder(sort, params.get("desc") == "1") if sort else None
        shown = await screens.dashboard(
            gateway,
            code=code,
            level=level,
            period=period,
            indicator=indicator,
            columns=columns,
            series_name=names.get(indicator, indicator),
            order=order,
            year_starts=viewer.year_starts,
            sized=screens.SIZE_ELEMENT in viewer.elements,
        )
        return show(
            request,
            "dashboard.html",
            (gateway, viewer, page, code, period, today),
            shown.problem,
            board=shown,
            indicators=viewer.indicators,
            indicator=indicator,
            order=order,
            keep=period_query(period, indicator),
            map_query=self._map_query(code, level),
            sorted_by=_sort_links(period, indicator, code, order, columns),
            download=_download_query(code, level, period, columns),
        )

    async def reporting(self, request: Request, context: Context) -> Response:
        """Who has reported for the period: the unit's subtree, each unit one level down,
        and the units to follow up (missing, late, returned)."""
        session: ConsoleSession | None = request.scope[SESSION]
        if context.principal is None or session is None:
            return RedirectResponse(f"{app_root(request)}/", status_code=303)
        begun = await begin(request, context, session, self.cookies)
        if isinstance(begun, Response):
            return begun
        gateway, _, page, code, period, _ = begun
        params = request.query_params
        levels = followed.levels_followed(code)
        if not levels:
            return render(
                request, "message.html", status=400, message="bad_code", detail=code, **page
            )
        asked = params.get("level") or levels[-1].value
        level = next((each for each in levels if each.value == asked), None)
        if level is None:
            return render(
                request, "message.html", status=400, message="bad_level", detail=asked, **page
            )
        board = await followed.reporting(gateway, code=code, level=level, period=period)
        return show(
            request,
            "reporting.html",
            begun,
            board.problem,
            board=board,
            level=level,
            level_links=[(each, period_query(period, None, level=each.value)) for each in levels],
            keep=period_query(period, None, level=level.value),
            dashboard_keep=period_query(period, None),
        )

    def _map_query(self, code: str, level: Level) -> str | None:
        """Where the dashboard's map fetches its shapes, when there are any to draw."""
        if self._boundaries is None or not self._boundaries.under(code, level):
            return None
        return urlencode({"under": code, "level": level.value})

    async def boundaries(self, request: Request, context: Context) -> Response:
        """The boundaries of a level's units inside a unit, as GeoJSON, for the map."""
        if signed_in(request, context) is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        code = request.query_params.get("under", "")
        asked = request.query_params.get("level", "")
        level = next((each for each in Level if each.value == asked), None)
        if self._boundaries is None or level is None:
            return JSONResponse({"error": "no boundaries for that"}, status_code=404)
        collection = {"type": "FeatureCollection", "features": self._boundaries.under(code, level)}
        # The same shapes for everyone, changed only by a restart with another file.
        headers = {"Cache-Control": "private, max-age=3600"}
        return JSONResponse(collection, headers=headers)

    async def download(self, request: Request, context: Context) -> Response:
        """The aggregates export (`GET /export/aggregates`, its parameters and checks) as
        the session's viewer: what the dashboard's download link fetches."""
        session: ConsoleSession | None = request.scope[SESSION]
        if context.principal is None or session is None:
            return RedirectResponse(f"{app_root(request)}/", status_code=303)
        return await export_aggregates(request, context)

    def csrf_refused(self, request: Request, session: ConsoleSession | None) -> Response:
        """403, and the session left as it was: a forged form can neither sign the viewer
        out nor swap their session."""
        if session is not None and session.signed_in:
            return render(
                request,
                "message.html",
                status=403,
                message="csrf_refused",
                viewer_name="",
                csrf=self.cookies.csrf_token(session),
            )
        return self._sign_in_page(request, session, message="csrf_refused", status=403)

    def _sign_in_page(
        self,
        request: Request,
        session: ConsoleSession | None,
        *,
        message: str | None = None,
        status: int = 200,
    ) -> Response:
        """The sign-in form, under the visitor's session (a fresh one if it has none)."""
        # A signed-in session is never handed back to the form: its nonce would outlive it.
        visitor = session if session is not None and not session.signed_in else None
        fresh = visitor is None
        visitor = visitor or self.cookies.new()
        response = render(
            request,
            "sign_in.html",
            status=status,
            message=message,
            csrf=self.cookies.csrf_token(visitor),
            viewer_name="",
        )
        if fresh:
            self.cookies.store(response, request, visitor)
        return response


def _download_query(code: str, level: Level, period: PeriodChoice, columns: list[str]) -> str:
    """The grid as CSV for Excel (a byte order mark, so that it reads the names as UTF-8)."""
    fields = {
        "under": code,
        "level": level.value,
        "from": period.period,
        "to": period.period,
        "indicators": ",".join(columns),
        "format": "csv",
        "bom": "true",
    }
    return urlencode(fields)


def _sort_links(
    period: PeriodChoice,
    indicator: str,
    code: str,
    order: screens.GridOrder | None,
    columns: list[str],
) -> dict[str, str]:
    """Each column's header link: sort by it descending, or, if it already is, ascending."""
    keep = period_query(period, indicator)
    links = {}
    for column in columns:
        descending = not (order is not None and order.column == column and order.descending)
        links[column] = f"?unit={code}&{keep}&sort={column}&desc={int(descending)}"
    return links


def _unless_ended(handler: Handler) -> Handler:
    """The handler, for a session that was not signed out; a 401 for one that was."""

    async def checked(request: Request, context: Context) -> Response:
        session: ConsoleSession | None = request.scope[SESSION]
        ended = (
            session is not None
            and session.signed_in
            and await session_ended(context.session, session.nonce)
        )
        if ended:
            return Response(status_code=401)
        return await handler(request, context)

    return checked
