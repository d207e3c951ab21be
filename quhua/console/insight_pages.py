"""The screens that follow figures up: assessment grades and ranking
(`/console/assessment`), outliers and validation violations (`/console/quality`), and a
unit's value audit trail (`/console/audit`)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from quhua.console import audit_trail, follow_up
from quhua.console.dashboard import grid_level
from quhua.console.pages import render
from quhua.console.period_choice import choose_period, choose_recent, choose_year
from quhua.console.screen import Begun, Chooser, FormPages, begin, period_query, show
from resolvers.context import Context


class InsightPages(FormPages):
    async def assessment(self, request: Request, context: Context) -> Response:
        """A unit's grade for a year, its targets, and the units one level down ranked by
        their score."""
        begun = await self._year_or_period(request, context, choose_year)
        if isinstance(begun, Response):
            return begun
        gateway, _, page, code, period, _ = begun
        level = grid_level(code)
        if level is None:
            return render(
                request, "message.html", status=400, message="bad_code", detail=code, **page
            )
        board = await follow_up.assessment(gateway, code, level, period.period)
        return show(
            request,
            "assessment.html",
            begun,
            board.problem,
            board=board,
            level=level,
            keep=period_query(period, None),
        )

    async def quality(self, request: Request, context: Context) -> Response:
        """The outliers among the subtree's values of a period and the validation rules
        they fail, to follow up."""
        begun = await self._year_or_period(request, context, choose_recent)
        if isinstance(begun, Response):
            return begun
        gateway, _, _, code, period, _ = begun
        board = await follow_up.quality(gateway, code, period.period)
        return show(
            request,
            "quality.html",
            begun,
            board.problem,
            board=board,
            keep=period_query(period, None),
        )

    async def audit(self, request: Request, context: Context) -> Response:
        """A unit's changes to its values, of a period (every period by default), newest
        first, a page at a time."""
        begun = await self._year_or_period(request, context, choose_period)
        if isinstance(begun, Response):
            return begun
        gateway, _, _, code, period, _ = begun
        params = request.query_params
        every = "year" not in params
        board = await audit_trail.trail(
            gateway, code, None if every else period.period, params.get("after") or None
        )
        keep = "" if every else period_query(period, None)
        following = None
        if board.next_page is not None:
            following = "&".join(
                filter(None, (urlencode({"unit": code, "after": board.next_page}), keep))
            )
        return show(
            request,
            "audit.html",
            begun,
            board.problem,
            board=board,
            every=every,
            keep=keep,
            next_query=following,
        )

    async def _year_or_period(
        self, request: Request, context: Context, choose: Chooser
    ) -> Begun | Response:
        opened = await self._opened(request, context)
        if isinstance(opened, Response):
            return opened
        session, _ = opened
        return await begin(request, context, session, self._cookies, choose=choose)
