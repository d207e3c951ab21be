"""What every console screen of a unit and a period shares: how it starts (the viewer, the
unit, the period), how it is rendered, its status and its links that keep the period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.errors import ErrorCode
from quhua.console import dashboard as screens
from quhua.console.gateway import Gateway, Problem
from quhua.console.pages import app_root, render
from quhua.console.period_choice import (
    WHOLE_YEARS,
    BadPeriod,
    PeriodChoice,
    choose_period,
    years_offered,
)
from quhua.console.session_cookie import ConsoleSession, SessionCookies
from quhua.http_door import STATUS
from resolvers.context import Context

# Where the viewer's console session travels in the request's scope (routes.Console).
SESSION = "quhua.console.session"
# A screen's start: the gateway, the viewer, the page's fields, the unit's code, the period
# and today.
Begun = tuple[Gateway, screens.Viewer, dict[str, Any], str, PeriodChoice, dt.date]
# Fields of a console form at most: an entry form holds two per input.
FORM_FIELDS = 5_000
Chooser = Callable[[Mapping[str, str], dt.date], PeriodChoice]
# What a refused figure says on the page, by the schema's error code.
PROBLEM_LABELS = {
    ErrorCode.FORBIDDEN.value: "refused",
    ErrorCode.NOT_FOUND.value: "not_found",
    ErrorCode.BAD_USER_INPUT.value: "bad_input",
}


def signed_in(request: Request, context: Context) -> ConsoleSession | None:
    """The viewer's console session, if they signed in."""
    session: ConsoleSession | None = request.scope[SESSION]
    if context.principal is None or session is None:
        return None
    return session


def to_home(request: Request) -> Response:
    return RedirectResponse(f"{app_root(request)}/", status_code=303)


async def checked_form(
    request: Request,
    session: ConsoleSession,
    cookies: SessionCookies,
    refuse: Callable[[Request, ConsoleSession], Response],
) -> FormData | Response | None:
    """None for a GET; a POST's form when it carries the session's CSRF token, else the
    refusal (before anything is read or written)."""
    if request.method != "POST":
        return None
    form = await request.form(max_files=0, max_fields=FORM_FIELDS)
    if not cookies.csrf_ok(session, form.get("csrf")):
        return refuse(request, session)
    return form


async def begin(
    request: Request,
    context: Context,
    session: ConsoleSession,
    cookies: SessionCookies,
    choose: Chooser = choose_period,
) -> Begun | Response:
    """What every screen of a unit and a period starts from: the viewer, the page's own
    fields, the unit asked (else the viewer's first grant's) and the period; or the page
    that says what was wrong with them."""
    gateway = Gateway(context)
    viewer = await screens.viewer(gateway)
    page: dict[str, Any] = {"viewer_name": viewer.name, "csrf": cookies.csrf_token(session)}
    today = dt.datetime.now(dt.UTC).date()
    params = request.query_params
    code = params.get("unit") or (viewer.units[0]["code"] if viewer.units else "")
    if not code:
        return render(request, "message.html", message="no_grants", **page)
    try:
        period = choose(params, today)
    except BadPeriod as error:
        return render(
            request, "message.html", status=400, message="bad_period", detail=str(error), **page
        )
    return gateway, viewer, page, code, period, today


def show(
    request: Request,
    template: str,
    begun: Begun,
    problem: Problem | None,
    *,
    status: int | None = None,
    **fields: Any,
) -> Response:
    """A screen of a unit and a period, with what every such screen shows; its status the
    first problem's (unless given), its Server-Timing the operations it ran."""
    gateway, viewer, page, code, period, today = begun
    response = render(
        request,
        template,
        status=status_of(problem) if status is None else status,
        problem_label=label_of(problem),
        code=code,
        period=period,
        years=years_offered(today),
        grants=viewer.units,
        **page,
        **fields,
    )
    response.headers["Server-Timing"] = gateway.server_timing()
    return response


def period_query(period: PeriodChoice, indicator: str | None, **more: str) -> str:
    """The query string that keeps the period (and the chart's indicator, and whatever
    else a screen keeps) across links."""
    fields = {"year": str(period.year), "kind": period.kind}
    if indicator is not None:
        fields["indicator"] = indicator
    if period.kind not in WHOLE_YEARS:
        fields[period.kind] = str(period.part)
    return urlencode({**fields, **more})


def field_of(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def status_of(problem: Problem | None) -> int:
    if problem is None:
        return 200
    for code, status in STATUS.items():
        if code.value == problem.code:
            return status
    return 500


def label_of(problem: Problem | None) -> str:
    return "" if problem is None else PROBLEM_LABELS.get(problem.code, "failed")


class FormPages:
    """Screens with forms: the signed-in viewer's session, and a POST's form only when it
    carries that session's CSRF token."""

    def __init__(
        self,
        cookies: SessionCookies,
        csrf_refused: Callable[[Request, ConsoleSession], Response],
    ) -> None:
        self._cookies = cookies
        self._csrf_refused = csrf_refused

    async def _opened(
        self, request: Request, context: Context
    ) -> tuple[ConsoleSession, FormData | None] | Response:
        """The viewer's session and the POST's form (None for a GET); or where the viewer
        is sent instead: home when signed out, a 403 for a wrong CSRF token."""
        session = signed_in(request, context)
        if session is None:
            return to_home(request)
        form = await checked_form(request, session, self._cookies, self._csrf_refused)
        if isinstance(form, Response):
            return form
        return session, form
